import type { Backend } from '../backend';
import type { AppInfo, RepoSummary } from '../backend/types';
import type { BackupController } from '../backup/backup.svelte';
import type { ErrorSink } from '../components/errors';
import type { SetsStore } from '../sets/sets.svelte';
import type { SettingsStore } from '../settings/settings.svelte';
import type { SnapshotStore } from '../snapshots/snapshots.svelte';

/** The open repository and what lives as long as it is open. */
export type RepoSession = {
  readonly repo: RepoSummary;
  readonly snapshots: SnapshotStore;
  /** Lives with the session, so a backup goes on reporting while the user is on another screen. */
  readonly backup: BackupController;
  /** Backup sets and their runs (same lifetime, so a running set keeps reporting). */
  readonly sets: SetsStore;
};

/** What every screen gets (its only prop, `app`). Getters are reactive. */
export type AppContext = {
  readonly backend: Backend;
  readonly errors: ErrorSink;
  readonly info: AppInfo;
  readonly settings: SettingsStore;
  /** Null until a repository is open. */
  readonly session: RepoSession | null;
  /** Called by the repository screen once a repository is open. */
  repoOpened(repo: RepoSummary): void;
  navigate(screen: string): void;
};
