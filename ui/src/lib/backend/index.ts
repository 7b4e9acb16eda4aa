import type {
  AppInfo,
  BackupReport,
  Browse,
  ItemPreview,
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
  /** `backup_run` with `{ onProgress }`; `onProgress` receives every Progress message of the channel. */
  backupRun(onProgress: (progress: Progress) => void): Promise<BackupReport>;
  /** `settings_get`: the saved settings, or the defaults when none were saved. */
  settingsGet(): Promise<Settings>;
  /**
   * `settings_set` with `{ settings }`: validates and saves, returns what was saved.
   * Rejects with `invalid_input` for values out of range.
   */
  settingsSet(settings: Settings): Promise<Settings>;
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
    return new MockBackend(mockOptionsFromUrl(typeof location === 'undefined' ? '' : location.search));
  }
  return new TauriBackend();
}
