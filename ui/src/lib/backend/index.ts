import type {
  AppInfo,
  AppSecret,
  CategoryName,
  ConnectionReport,
  DeviceCodePrompt,
  ExportReport,
  ExportRequest,
  FolderChoice,
  MailboxChoice,
  MailboxSelection,
  RestoreReport,
  RestoreRequest,
  RunRecord,
  SearchQuery,
  SearchResults,
  SetConnection,
  SetForm,
  SetOverview,
  SetRunReport,
  SignedIn,
  BackupReport,
  Browse,
  ItemPreview,
  ItemVersionInfo,
  Progress,
  RepoOpenArgs,
  RepoSummary,
  Settings,
  Snapshot,
} from './types';
import { TauriBackend } from './tauri';
import { MockBackend } from './mock';
import { mockOptionsFromUrl } from './mockConfig';

export type * from './types';
export { toApiError } from './errors';

/**
 * Everything the UI needs from the engine. Every method may reject with an
 * ApiError ({ code, message }); callers normalise with `toApiError`.
 * Each doc names the Tauri command and its argument names.
 */
export interface Backend {
  /** `app_info` */
  appInfo(): Promise<AppInfo>;
  /**
   * `repo_open` with `{ location, password, create, remember, s3SecretAccessKey }`
   * (see RepoOpenArgs). Opens (or with `create` initialises) the repository at `location`.
   */
  repoOpen(args: RepoOpenArgs): Promise<RepoSummary>;
  /** `snapshots_list` (oldest first, as the backend returns it) */
  snapshotsList(): Promise<Snapshot[]>;
  /** `snapshot_browse` with `{ snapshotId, path }` */
  snapshotBrowse(snapshotId: string, path: string): Promise<Browse>;
  /**
   * `item_preview` with `{ snapshotId, path }`: one message of a snapshot, for the preview
   * pane. `path` is the item's folder path plus its id (`itemPath()` in paths.ts).
   * Rejects with `not_found` when the snapshot or item does not exist.
   */
  itemPreview(snapshotId: string, path: string): Promise<ItemPreview>;
  /**
   * `item_versions` with `{ itemId }`: every snapshot's copy of one item (by its id), oldest
   * first, following moves between folders; `changed` marks a copy that differs from the one
   * listed before it. Empty when no snapshot holds the item.
   */
  itemVersions(itemId: string): Promise<ItemVersionInfo[]>;
  /** `backup_run` with `{ onProgress }`; `onProgress` receives every Progress message of the channel. */
  backupRun(onProgress: (progress: Progress) => void): Promise<BackupReport>;
  /** `settings_get`: the saved settings, or the defaults when none were saved. */
  settingsGet(): Promise<Settings>;
  /**
   * `settings_set` with `{ settings }`: validates and saves, returns what was saved.
   * Rejects with `invalid_input` for values out of range.
   */
  settingsSet(settings: Settings): Promise<Settings>;
  /** `open_log_folder`: opens the folder of the app's log files (`AppInfo.logDir`) in the file manager. */
  openLogFolder(): Promise<void>;

  // --- Backup sets (commands/sets.rs) ---
  /** `sets_list`: every saved set with its last run, next run and warnings (dashboard). */
  setsList(): Promise<SetOverview[]>;
  /** `set_get` with `{ name }`. Rejects `not_found`. */
  setGet(name: string): Promise<SetForm>;
  /**
   * `set_save` with `{ form, replace }`: validates and saves. `replace: false` rejects
   * `invalid_input` when a set of that name (any case) exists. Returns the saved set's overview.
   */
  setSave(form: SetForm, replace: boolean): Promise<SetOverview>;
  /** `set_remove` with `{ name }` (its snapshots stay in the repository). */
  setRemove(name: string): Promise<void>;
  /**
   * `set_run` with `{ name, onProgress }`: backs the set up now; resolves when the run ends
   * (stopped runs reject with `cancelled`). Rejects `already_running` if the set is running.
   */
  setRun(name: string, onProgress: (progress: Progress) => void): Promise<SetRunReport>;
  /** `set_stop` with `{ name }`: stops a running set (its run ends as interrupted). */
  setStop(name: string): Promise<void>;
  /** `history_list` with `{ setName, limit }`: newest first; `setName` null for every set. */
  historyList(setName: string | null, limit: number): Promise<RunRecord[]>;
  /** `history_log` with `{ runId }`: that run's own log (its last megabyte); empty when it logged nothing. */
  historyLog(runId: number): Promise<string>;

  // --- Sign-in and directory (commands/signin.rs, commands/directory.rs) ---
  /**
   * `demo_connection`: the embedded demo tenant's app connection (tenant, app id, URLs; its
   * secret stays in the backend), or null when the app runs against a real tenant.
   */
  demoConnection(): Promise<SetConnection | null>;
  /**
   * `signin_app` with `{ connection, secret }`: signs in as the Entra app, and on success
   * keeps the client secret or certificate in the OS keychain. For the demo tenant `secret`
   * may be all null. Rejects `sign_in` with the identity platform's reason.
   */
  signinApp(connection: SetConnection, secret: AppSecret): Promise<SignedIn>;
  /**
   * `signin_device` with `{ connection, onPrompt }`: device-code sign-in; `onPrompt` gets the
   * code to show; resolves once the person approved (refresh token kept in the keychain).
   */
  signinDevice(connection: SetConnection, onPrompt: (prompt: DeviceCodePrompt) => void): Promise<SignedIn>;
  /** `signin_browser` with `{ connection }`: auth code + PKCE in the system browser. */
  signinBrowser(connection: SetConnection): Promise<SignedIn>;
  /** `signin_cancel`: abandons a device-code or browser sign-in that is waiting. */
  signinCancel(): Promise<void>;
  /**
   * `connection_test` with `{ connection, mailboxes, categories }`: the permission check per
   * mailbox and category (at most 50 mailboxes probed).
   */
  connectionTest(connection: SetConnection, mailboxes: MailboxSelection, categories: CategoryName[]): Promise<ConnectionReport>;
  /** `directory_mailboxes` with `{ connection }`: users and shared mailboxes, by display name. */
  directoryMailboxes(connection: SetConnection): Promise<MailboxChoice[]>;
  /** `directory_folders` with `{ connection, mailbox, parentId }`: one level of the mail folder tree (parentId null: the top). */
  directoryFolders(connection: SetConnection, mailbox: string, parentId: string | null): Promise<FolderChoice[]>;

  // --- Search, restore, export (commands/search.rs, commands/restore.rs) ---
  /** `search` with `{ query }`. Rejects `invalid_input` for bad query syntax. */
  search(query: SearchQuery): Promise<SearchResults>;
  /**
   * `restore_run` with `{ request, onProgress }`: one report per mailbox restored. With
   * `dryRun` nothing is written and each report's `planned` lists the writes.
   */
  restoreRun(request: RestoreRequest, onProgress: (progress: Progress) => void): Promise<RestoreReport[]>;
  /**
   * `export_run` with `{ request, onProgress }`: one report per exported path. A target folder
   * that is not empty is `invalid_input` unless `request.allowNonEmpty` (optional field, added
   * by the UI: the engine's `ExportOptions::allow_non_empty`).
   */
  exportRun(request: ExportRequest, onProgress: (progress: Progress) => void): Promise<ExportReport[]>;
  /** `job_cancel`: stops the running restore or export (what was written stays). */
  jobCancel(): Promise<void>;
  /** `pick_folder` with `{ title }`: a native folder dialog; null when cancelled. */
  pickFolder(title: string): Promise<string | null>;
}

declare global {
  interface Window {
    __TAURI_INTERNALS__?: unknown;
  }
}

/** True when running inside a Tauri webview (or under `mockIPC`). */
export function inTauri(): boolean {
  return typeof window !== 'undefined' && window.__TAURI_INTERNALS__ !== undefined;
}

/**
 * True when this bundle uses the in-memory mock: the `mock` build mode (`vite build --mode
 * mock`, for browser tests), or the dev server / vitest outside Tauri. Both conditions are
 * constants in a production build, so the Tauri bundle contains no mock at all.
 */
export const MOCK_BUNDLE = import.meta.env.MODE === 'mock';

/** The Tauri backend inside the app; the in-memory mock in mock builds and in a plain dev browser. */
export function getBackend(): Backend {
  if (MOCK_BUNDLE || (import.meta.env.DEV && !inTauri())) {
    return new MockBackend({
      ...mockOptionsFromUrl(typeof location === 'undefined' ? '' : location.search),
      // Saved settings survive a reload of the page, as the app's survive a restart.
      settingsStorage: typeof sessionStorage === 'undefined' ? undefined : sessionStorage,
    });
  }
  return new TauriBackend();
}
