import { Channel, invoke } from '@tauri-apps/api/core';
import type { Backend } from './index';
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

/** The real backend: Tauri commands implemented in src-tauri. */
export class TauriBackend implements Backend {
  appInfo(): Promise<AppInfo> {
    return invoke<AppInfo>('app_info');
  }

  repoOpen({ location, password, create, remember, s3SecretAccessKey }: RepoOpenArgs): Promise<RepoSummary> {
    return invoke<RepoSummary>('repo_open', {
      location,
      password,
      create,
      remember,
      s3SecretAccessKey,
      // Transitional: the shell's first repo_open took a bare `path`. Tauri ignores
      // arguments a command does not declare, so this keeps both versions working.
      path: location.kind === 'local' ? location.path : '',
    });
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

  backupRun(onProgress: (progress: Progress) => void): Promise<BackupReport> {
    const channel = new Channel<Progress>();
    channel.onmessage = (message) => onProgress(message);
    return invoke<BackupReport>('backup_run', { onProgress: channel });
  }

  settingsGet(): Promise<Settings> {
    return invoke<Settings>('settings_get');
  }

  settingsSet(settings: Settings): Promise<Settings> {
    return invoke<Settings>('settings_set', { settings });
  }
}
