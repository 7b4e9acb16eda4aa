import { Channel, invoke } from '@tauri-apps/api/core';
import type { Backend } from './index';
import type { AppInfo, BackupReport, Browse, Progress, RepoOpenArgs, RepoSummary, Snapshot } from './types';

/** The real backend: Tauri commands implemented in src-tauri. */
export class TauriBackend implements Backend {
  appInfo(): Promise<AppInfo> {
    return invoke<AppInfo>('app_info');
  }

  repoOpen({ path, password, create }: RepoOpenArgs): Promise<RepoSummary> {
    return invoke<RepoSummary>('repo_open', { path, password, create });
  }

  snapshotsList(): Promise<Snapshot[]> {
    return invoke<Snapshot[]>('snapshots_list');
  }

  snapshotBrowse(snapshotId: string, path: string): Promise<Browse> {
    return invoke<Browse>('snapshot_browse', { snapshotId, path });
  }

  backupRun(onProgress: (progress: Progress) => void): Promise<BackupReport> {
    const channel = new Channel<Progress>();
    channel.onmessage = (message) => onProgress(message);
    return invoke<BackupReport>('backup_run', { onProgress: channel });
  }
}
