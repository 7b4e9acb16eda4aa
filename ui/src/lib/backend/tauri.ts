import { Channel, invoke } from '@tauri-apps/api/core';
import type { Backend } from './index';
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

/** The real backend: Tauri commands implemented in src-tauri. */
export class TauriBackend implements Backend {
  appInfo(): Promise<AppInfo> {
    return invoke<AppInfo>('app_info');
  }

  repoOpen(args: RepoOpenArgs): Promise<RepoSummary> {
    return invoke<RepoSummary>('repo_open', { args });
  }

  snapshotsList(): Promise<Snapshot[]> {
    return invoke<Snapshot[]>('snapshots_list');
  }

  snapshotBrowse(snapshotId: string, path: string): Promise<Browse> {
    return invoke<Browse>('snapshot_browse', { snapshotId, path });
  }

  itemPreview(snapshotId: string, path: string): Promise<ItemPreview> {
    return invoke<ItemPreview>('item_preview', { snapshotId, path });
  }

  itemVersions(itemId: string): Promise<ItemVersionInfo[]> {
    return invoke<ItemVersionInfo[]>('item_versions', { itemId });
  }

  backupRun(onProgress: (progress: Progress) => void): Promise<BackupReport> {
    return invoke<BackupReport>('backup_run', { onProgress: channel(onProgress) });
  }

  settingsGet(): Promise<Settings> {
    return invoke<Settings>('settings_get');
  }

  settingsSet(settings: Settings): Promise<Settings> {
    return invoke<Settings>('settings_set', { settings });
  }

  openLogFolder(): Promise<void> {
    return invoke<void>('open_log_folder');
  }

  setsList(): Promise<SetOverview[]> {
    return invoke<SetOverview[]>('sets_list');
  }

  setGet(name: string): Promise<SetForm> {
    return invoke<SetForm>('set_get', { name });
  }

  setSave(form: SetForm, replace: boolean): Promise<SetOverview> {
    return invoke<SetOverview>('set_save', { form, replace });
  }

  setRemove(name: string): Promise<void> {
    return invoke<void>('set_remove', { name });
  }

  setRun(name: string, onProgress: (progress: Progress) => void): Promise<SetRunReport> {
    return invoke<SetRunReport>('set_run', { name, onProgress: channel(onProgress) });
  }

  setStop(name: string): Promise<void> {
    return invoke<void>('set_stop', { name });
  }

  historyList(setName: string | null, limit: number): Promise<RunRecord[]> {
    return invoke<RunRecord[]>('history_list', { setName, limit });
  }

  historyLog(runId: number): Promise<string> {
    return invoke<string>('history_log', { runId });
  }

  demoConnection(): Promise<SetConnection | null> {
    return invoke<SetConnection | null>('demo_connection');
  }

  signinApp(connection: SetConnection, secret: AppSecret): Promise<SignedIn> {
    return invoke<SignedIn>('signin_app', { connection, secret });
  }

  signinDevice(connection: SetConnection, onPrompt: (prompt: DeviceCodePrompt) => void): Promise<SignedIn> {
    return invoke<SignedIn>('signin_device', { connection, onPrompt: channel(onPrompt) });
  }

  signinBrowser(connection: SetConnection): Promise<SignedIn> {
    return invoke<SignedIn>('signin_browser', { connection });
  }

  signinCancel(): Promise<void> {
    return invoke<void>('signin_cancel');
  }

  connectionTest(connection: SetConnection, mailboxes: MailboxSelection, categories: CategoryName[]): Promise<ConnectionReport> {
    return invoke<ConnectionReport>('connection_test', { connection, mailboxes, categories });
  }

  directoryMailboxes(connection: SetConnection): Promise<MailboxChoice[]> {
    return invoke<MailboxChoice[]>('directory_mailboxes', { connection });
  }

  directoryFolders(connection: SetConnection, mailbox: string, parentId: string | null): Promise<FolderChoice[]> {
    return invoke<FolderChoice[]>('directory_folders', { connection, mailbox, parentId });
  }

  search(query: SearchQuery): Promise<SearchResults> {
    return invoke<SearchResults>('search', { query });
  }

  restoreRun(request: RestoreRequest, onProgress: (progress: Progress) => void): Promise<RestoreReport[]> {
    return invoke<RestoreReport[]>('restore_run', { request, onProgress: channel(onProgress) });
  }

  exportRun(request: ExportRequest, onProgress: (progress: Progress) => void): Promise<ExportReport[]> {
    return invoke<ExportReport[]>('export_run', { request, onProgress: channel(onProgress) });
  }

  jobCancel(): Promise<void> {
    return invoke<void>('job_cancel');
  }

  pickFolder(title: string): Promise<string | null> {
    return invoke<string | null>('pick_folder', { title });
  }
}

/** A Tauri channel that hands each message to `on`. */
function channel<T>(on: (message: T) => void): Channel<T> {
  const c = new Channel<T>();
  c.onmessage = (message) => on(message);
  return c;
}
