import type { AppInfo, BackupReport, Browse, Progress, RepoOpenArgs, RepoSummary, Snapshot } from './types';
import { TauriBackend } from './tauri';
import { MockBackend } from './mock';

export type * from './types';
export { toApiError } from './errors';

/**
 * Everything the UI needs from the engine. Every method may reject with an
 * ApiError ({ code, message }); callers normalise with `toApiError`.
 */
export interface Backend {
  /** `app_info` */
  appInfo(): Promise<AppInfo>;
  /** `repo_open` */
  repoOpen(args: RepoOpenArgs): Promise<RepoSummary>;
  /** `snapshots_list` (oldest first, as the backend returns it) */
  snapshotsList(): Promise<Snapshot[]>;
  /** `snapshot_browse` */
  snapshotBrowse(snapshotId: string, path: string): Promise<Browse>;
  /** `backup_run`; `onProgress` receives every Progress message of the channel. */
  backupRun(onProgress: (progress: Progress) => void): Promise<BackupReport>;
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

/** The Tauri backend inside the app, the in-memory mock in a plain browser. */
export function getBackend(): Backend {
  return inTauri() ? new TauriBackend() : new MockBackend({ stepDelayMs: 150 });
}
