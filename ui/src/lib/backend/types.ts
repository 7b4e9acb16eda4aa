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
  'locked',
  'access_denied',
  'sign_in',
  'mailbox_full',
  'job_failed',
  'keychain',
  'missing_secret',
  'database',
  'cancelled',
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

// ---------------------------------------------------------------------------------------
// Backup sets, sign-in, directory, history (commands in src-tauri/src/commands/{sets,
// signin,directory,history}.rs; DTOs from qcb_engine::sets and qcb_engine::permissions).

export type RunOn = 'client' | 'server';
export type AuthMethod = 'client-secret' | 'certificate' | 'delegated';
export type CategoryName = 'mail' | 'contacts' | 'calendars' | 'tasks' | 'settings';
export const CATEGORY_NAMES: readonly CategoryName[] = ['mail', 'contacts', 'calendars', 'tasks', 'settings'];

/** The tenant and app a set signs in with (no secret: secrets stay in the OS keychain). */
export type SetConnection = {
  tenantId: string;
  clientId: string;
  auth: AuthMethod;
  /** For `certificate`: a PEM file with certificate and private key; null: the PEM is in the keychain. */
  certificate: string | null;
  /** For `delegated`: the person who signed in. */
  account: string | null;
  graphUrl: string;
  authority: string;
};

/** Which mailboxes a set takes: the union of every part that is set; nothing set = every mailbox. */
export type MailboxSelection = { allUsers: boolean; users: string[]; filter: string | null; shared: boolean };

/** Folder path patterns (`Inbox/Projects`, `*`, `**`); empty include = every folder. */
export type FolderFilter = { include: string[]; exclude: string[] };

/** Retention rules; spans are text such as `30d`, `12w`, `1y`. A snapshot is kept if any rule keeps it. */
export type RetentionPolicy = {
  keepLast: number | null;
  keepWithin: string | null;
  keepHourly: number | null;
  keepDaily: number | null;
  keepWeekly: number | null;
  keepMonthly: number | null;
  keepYearly: number | null;
  /** Deleted items stay restorable at least this long (e.g. `90d`). */
  deletedItemRetention: string | null;
};

/**
 * A backup set as the wizard edits it (`set_get`, `set_save`). `schedule` is schedule text:
 * `manual`, `hourly`, `every 6h`, `daily 02:30`, `weekdays 22:00`, `weekly mon,thu 03:00`.
 */
export type SetForm = {
  name: string;
  runOn: RunOn;
  /** A folder path or an `s3:` URL: the repository the set backs up into. */
  repository: string;
  schedule: string;
  connection: SetConnection;
  mailboxes: MailboxSelection;
  categories: CategoryName[];
  folders: FolderFilter;
  retention: RetentionPolicy | null;
  /**
   * Categories of single mailboxes (set in a TOML file). Leave out (or pass back what
   * `set_get` gave) to keep them; the wizard does not edit them.
   */
  mailboxCategories?: Record<string, CategoryName[]> | null;
};

export type RunStatus = 'running' | 'succeeded' | 'warning' | 'failed' | 'interrupted';

/** One run of a set (`history_list`). */
export type RunRecord = {
  id: number;
  setName: string;
  /** `manual`, `schedule` or `client`. */
  trigger: string;
  host: string;
  /** RFC 3339 UTC. */
  started: string;
  finished: string | null;
  status: RunStatus;
  snapshotId: string | null;
  mailboxes: number;
  items: number;
  itemsFetched: number;
  bytesAdded: number;
  failedItems: number;
  snapshotsForgotten: number;
  message: string | null;
  /** `{ failed: FailedItem[], durationMs }` for finished runs. */
  report?: { failed?: FailedItem[]; durationMs?: number } | null;
};

/** Something about a set the user has to act on (shown on the dashboard). */
export type SetWarning = {
  /** `signin_expired`, `missing_secret`, `permission_missing`, `repo_unreachable`, `last_run_failed`. */
  code: string;
  message: string;
};

/** One set on the dashboard (`sets_list`). */
export type SetOverview = {
  name: string;
  runOn: RunOn;
  schedule: string;
  repository: string;
  /** e.g. `All users`, `3 mailboxes`, `alice@contoso.example`. */
  mailboxesLabel: string;
  categories: CategoryName[];
  lastRun: RunRecord | null;
  /** RFC 3339 UTC; null for manual sets. */
  nextRun: string | null;
  /** Stored size of the set's newest snapshot, bytes; null before the first run. */
  sizeBytes: number | null;
  /** Items of the last runs, oldest first (at most 20): the sparkline. */
  itemsPerRun: number[];
  running: boolean;
  warnings: SetWarning[];
};

/** What a set run returns (`set_run`). */
export type SetRunReport = {
  runId: number;
  setName: string;
  status: RunStatus;
  backup: BackupReport;
  retentionError?: string | null;
};

/** App credentials typed into the wizard; travel once to the keychain, never stored in the UI. */
export type AppSecret = { clientSecret: string | null; certificatePem: string | null };

/** A successful sign-in (`signin_app`, `signin_device`, `signin_browser`). */
export type SignedIn = {
  /** The person (delegated), or null for an app. */
  account: string | null;
  /** What to show: the app's tenant, or the person's name. */
  displayName: string;
};

/** Shown while a device-code sign-in waits for the person (`signin_device`'s channel). */
export type DeviceCodePrompt = { userCode: string; verificationUri: string; expiresInSeconds: number; message: string };

export type Access = 'ok' | 'missing' | 'unknown' | 'error';
export type CategoryAccess = {
  /** `mail`, `contacts`, `calendars`, `tasks`, `settings` or `rules`. */
  category: string;
  read: Access;
  write: Access;
  /** Exact permission names to grant. */
  missing: string[];
  /** The admin step that grants them. */
  fix?: string;
  detail?: string;
};
export type MailboxAccess = { mailbox: string; categories: CategoryAccess[] };
/** The permission check (`connection_test`). */
export type ConnectionReport = {
  /** `application` or `delegated`. */
  signIn: string;
  granted: string[] | null;
  directory: CategoryAccess;
  mailboxes: MailboxAccess[];
  notTested: number;
  problems: number;
};

/** A mailbox the sign-in can see (`directory_mailboxes`). */
export type MailboxChoice = { id: string; address: string; displayName: string; shared: boolean };
/** A mail folder for the folder tree (`directory_folders`; children loaded on demand). */
export type FolderChoice = { id: string; name: string; path: string; childCount: number; itemCount: number };

// ---------------------------------------------------------------------------------------
// Search, restore, export (commands in src-tauri/src/commands/{search,restore}.rs).

export type SearchQuery = {
  text: string;
  mailbox: string | null;
  folder: string | null;
  category: CategoryName | null;
  /** `2026-11-01` or RFC 3339, inclusive. */
  fromDate: string | null;
  toDate: string | null;
  hasAttachments: boolean | null;
  /** One snapshot (`latest`, an id), or null for all. */
  snapshot: string | null;
  /** 0: 50, at most 1000. */
  limit: number;
};
export type SearchPlace = {
  snapshotId: string;
  snapshotTime: string;
  /** The item's browse path in that snapshot (`/user@x/Mail/Inbox/<id>`). */
  path: string;
  mailbox: string;
  folder: string;
  itemId: string;
};
/** `snippet` marks matched terms between U+E000 and U+E001 (MARK_START / MARK_END). */
export type SearchHit = {
  itemId: string;
  subject: string;
  from: string;
  date: string;
  category: string;
  hasAttachments: boolean;
  snippet: string;
  /** Every snapshot holding this version, newest first. */
  places: SearchPlace[];
};
export type SearchResults = { total: number; totalCapped: boolean; hits: SearchHit[] };
export const SNIPPET_MARK_START = '\u{E000}';
export const SNIPPET_MARK_END = '\u{E001}';

export type OnConflict = 'skip' | 'overwrite' | 'keep-both';
/** Where restored items go. */
export type RestoreTarget = { kind: 'original' } | { kind: 'folder'; name: string };

/** `restore_run`: restore `paths` (browse paths: `/mailbox`, `/mailbox/Mail/Inbox`, an item) of one snapshot. */
export type RestoreRequest = {
  snapshotId: string;
  paths: string[];
  /** Restore into this mailbox instead of each item's own; null: the original mailbox. */
  targetMailbox: string | null;
  target: RestoreTarget;
  recursive: boolean;
  onConflict: OnConflict;
  dryRun: boolean;
  /** The set whose sign-in writes to Microsoft 365; null: the set that made the snapshot. */
  setName: string | null;
};
/** One write a dry run lists: `action` create-folder / create / overwrite; `kind` folder, message, contact, event, task, rule ... */
export type PlannedWrite = { action: string; kind: string; folder: string; itemId: string };
export type RestoreReport = {
  mailbox: string;
  targetFolder: string;
  dryRun: boolean;
  foldersCreated: number;
  itemsRestored: number;
  itemsOverwritten: number;
  itemsSkipped: number;
  skipped: FailedItem[];
  failed: FailedItem[];
  planned: PlannedWrite[];
  durationMs: number;
};

export type MailFormat = 'eml' | 'mbox';
/** `export_run`: write items of a snapshot as files. */
export type ExportRequest = {
  snapshotId: string;
  paths: string[];
  recursive: boolean;
  mailFormat: MailFormat;
  /** One .ics per event instead of one per calendar. */
  eventFiles: boolean;
  /** The folder to write into, or with `zip` the .zip file. */
  target: string;
  zip: boolean;
  dryRun: boolean;
  /**
   * Also write into a folder that already holds files (none is ever overwritten; the engine's
   * `ExportOptions::allow_non_empty`). Optional, sent only when true: without it a folder that
   * is not empty is `invalid_input`.
   */
  allowNonEmpty?: boolean;
};
export type ExportReport = {
  snapshotId: string;
  target: string;
  dryRun: boolean;
  zip: boolean;
  messages: number;
  events: number;
  contacts: number;
  tasks: number;
  other: number;
  files: number;
  bytes: number;
  failed: FailedItem[];
};
