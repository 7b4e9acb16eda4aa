// DTOs of the Tauri command contract. The Rust side (src-tauri) serialises
// these with serde `rename_all = "camelCase"`; keep both sides in step.

/** Every command may reject with this object. */
export type ApiError = { code: string; message: string };

/** Error codes the backend is known to use. */
export const API_ERROR_CODES = [
  'wrong_password',
  'not_found',
  'invalid_input',
  'repo_not_open',
  'already_running',
  'graph',
  'repository',
  'internal',
] as const;
export type ApiErrorCode = (typeof API_ERROR_CODES)[number];

export type RepoSummary = { id: string; path: string; snapshotCount: number };

export type AppInfo = {
  version: string;
  demoTenant: boolean;
  graphUrl: string;
  defaultRepoPath: string;
  /** Non-null when a repository is already open. */
  repo: RepoSummary | null;
};

export type Snapshot = {
  id: string;
  shortId: string;
  /** RFC 3339, UTC. */
  time: string;
  hostname: string;
  mailboxes: string[];
  itemCount: number;
  sizeBytes: number;
};

export type FolderEntry = { name: string; path: string; itemCount: number; childCount: number };

export type ItemEntry = {
  id: string;
  subject: string;
  from: string;
  receivedDateTime: string;
  size: number;
  isRead: boolean;
  hasAttachments: boolean;
};

export type Browse = { snapshotId: string; path: string; folders: FolderEntry[]; items: ItemEntry[] };

export type ProgressPhase = 'listing' | 'mailbox' | 'folder' | 'items' | 'saving' | 'done';

export type Progress = {
  phase: ProgressPhase;
  mailbox: string | null;
  folder: string | null;
  itemsDone: number;
  itemsTotal: number;
  bytesDone: number;
};

export type FailedItem = { mailbox: string; folder: string; itemId: string; reason: string };

export type BackupReport = {
  snapshotId: string;
  mailboxes: number;
  folders: number;
  items: number;
  itemsFetched: number;
  bytesAdded: number;
  failed: FailedItem[];
  durationMs: number;
};

export type RepoOpenArgs = { path: string; password: string; create: boolean };
