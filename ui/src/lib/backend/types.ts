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

export type RepoSummary = {
  id: string;
  /** Human-readable location: a folder path, or `s3://bucket/prefix` at the endpoint. */
  path: string;
  snapshotCount: number;
};

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
  /** Pace, from the engine's `Pace` (absent in older events and before it is known). */
  elapsedMs?: number;
  itemsPerSecond?: number;
  etaSeconds?: number | null;
  requests?: number;
  /** Requests waiting out Exchange's throttling (Retry-After) right now. */
  throttledNow?: number;
  throttleWaitMs?: number;
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

/** A repository in a folder of this computer (or a mounted share). */
export type LocalLocation = { kind: 'local'; path: string };

/**
 * A repository in a bucket of an S3-compatible object store. The secret access key is not
 * part of the location (locations may be shown, logged and remembered); it travels
 * separately in `RepoOpenArgs.s3SecretAccessKey`.
 */
export type S3Location = {
  kind: 's3';
  /** e.g. `https://s3.eu-central-1.amazonaws.com` or `http://127.0.0.1:8333`. */
  endpoint: string;
  bucket: string;
  /** e.g. `eu-central-1`; `us-east-1` when the store ignores regions. */
  region: string;
  /** Key prefix inside the bucket ("" for the bucket root, else no leading slash). */
  prefix: string;
  accessKeyId: string;
};

/** Where a repository lives (`kind` is the serde tag: `#[serde(tag = "kind")]`). */
export type RepoLocation = LocalLocation | S3Location;

/**
 * Arguments of `repo_open` (command args: `location`, `password`, `create`, `remember`,
 * `s3SecretAccessKey`).
 */
export type RepoOpenArgs = {
  location: RepoLocation;
  password: string;
  /** Initialise a new, empty repository instead of opening an existing one. */
  create: boolean;
  /**
   * Store the password (and the S3 secret key, if any) in the OS keychain so the app can
   * open this repository without asking. `false` forgets anything stored for it before.
   */
  remember: boolean;
  /** The S3 secret access key; `null` for a local repository. */
  s3SecretAccessKey: string | null;
};

/** One attachment of a previewed message. */
export type AttachmentInfo = { name: string; size: number; contentType: string };

/**
 * What the preview pane shows for one message (`item_preview`). `html` is the message's
 * HTML body as stored (the UI sanitises it); `text` its plain-text body. Either may be absent.
 */
export type ItemPreview = {
  subject: string;
  /** Display form, e.g. `Megan Bowen <megan@contoso.example>`. */
  from: string;
  to: string[];
  cc: string[];
  /** RFC 3339, UTC (the received time). */
  date: string;
  html?: string | null;
  text?: string | null;
  attachments: AttachmentInfo[];
};

export type Theme = 'system' | 'light' | 'dark';
export const THEMES: readonly Theme[] = ['system', 'light', 'dark'];

export type LogLevel = 'error' | 'warn' | 'info' | 'debug' | 'trace';
export const LOG_LEVELS: readonly LogLevel[] = ['error', 'warn', 'info', 'debug', 'trace'];

/** App settings (`settings_get` / `settings_set`). Nothing secret is ever stored here. */
export type Settings = {
  /** `system` follows the OS (prefers-color-scheme). */
  theme: Theme;
  /** How many mailboxes a backup works on at once (1–16). */
  concurrency: number;
  logLevel: LogLevel;
};

export const DEFAULT_SETTINGS: Settings = { theme: 'system', concurrency: 4, logLevel: 'info' };
export const CONCURRENCY_MIN = 1;
export const CONCURRENCY_MAX = 16;
