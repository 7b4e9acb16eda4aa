// In-memory fake of the engine. Used by the unit tests and by `vite dev` in a
// plain browser (no Tauri). It behaves like the real commands: same DTOs,
// same error codes, and a backup that streams Progress messages.
//
// Demo credentials: a repository already exists at the default path with the
// password "demo" (see DEMO_PASSWORD); any other path can be created. S3 locations work the
// same way (any endpoint, bucket and keys; nothing leaves the page).

import type { Backend } from './index';
import { apiError } from './errors';
import { pathSegment } from './paths';
import { MockJobs } from './mock/jobs';
import { MockSets, type MockSetsOptions } from './mock/sets';
import { CHANGED_ITEM_ID, CHANGED_NOTE, CHANGED_SUBJECT_TAG, itemVersions, settleDemoTenant } from './mock/versions';
import {
  CONCURRENCY_MAX,
  CONCURRENCY_MIN,
  DEFAULT_SETTINGS,
  LOG_LEVELS,
  THEMES,
  type AppInfo,
  type AppSecret,
  type BackupReport,
  type CategoryName,
  type DeviceCodePrompt,
  type ExportRequest,
  type MailboxSelection,
  type RestoreRequest,
  type SearchQuery,
  type SetConnection,
  type SetForm,
  type Browse,
  type FailedItem,
  type FolderEntry,
  type ItemEntry,
  type ItemPreview,
  type ItemVersionInfo,
  type Progress,
  type RepoLocation,
  type RepoOpenArgs,
  type RepoSummary,
  type Settings,
  type Snapshot,
} from './types';

export const DEMO_PASSWORD = 'demo';
export const DEMO_REPO_PATH = '/home/demo/QCBackup/repository';
export const DEMO_GRAPH_URL = 'http://127.0.0.1:8765/v1.0';
export const DEMO_HOSTNAME = 'qcb-workstation';
/** The key of the saved settings in `settingsStorage`. */
const SETTINGS_KEY = 'qcb-mock-settings';
export const DEMO_LOG_DIR = '/home/demo/.local/share/com.qcbackup.manager/logs';

export type MockFolder = { name: string; items: ItemEntry[]; children: MockFolder[] };
export type MockMailbox = { upn: string; folders: MockFolder[] };
export type MockSnapshot = { snapshot: Snapshot; mailboxes: MockMailbox[] };
type MockRepo = { id: string; path: string; password: string; snapshots: MockSnapshot[] };

/** Name of the demo's large folder (in alice's mailbox) when `largeFolderItems` > 0. */
export const LARGE_FOLDER = 'Newsletters';
/** Id of the demo message whose HTML tries scripts, handlers and remote images. */
export const HOSTILE_ITEM_ID = 'AAMk-alice-inbox-1';
/** Id of a demo message that only has a plain-text body. */
export const TEXT_ITEM_ID = 'AAMk-alice-inbox-2';

export type MockBackendOptions = {
  /** Path reported as AppInfo.defaultRepoPath (a repository exists there). */
  defaultRepoPath?: string;
  /** Password of the existing repository at defaultRepoPath. */
  password?: string;
  /** Start with that repository already open (AppInfo.repo non-null). */
  open?: boolean;
  /** Start times (RFC 3339) of the demo snapshots in the existing repository, oldest first. */
  snapshotTimes?: string[];
  /** Delay between progress messages of a backup, in ms (0 in tests). */
  stepDelayMs?: number;
  /** Clock used for new snapshots. */
  now?: () => Date;
  /** Awaited after each progress message of a backup (lets tests pause a run). */
  onStep?: (progress: Progress) => void | Promise<void>;
  /** Items in alice's large folder (LARGE_FOLDER) in the existing snapshots; 0 (default) for none. */
  largeFolderItems?: number;
  /** Backup sets, sign-in and directory (mock/sets.ts). */
  sets?: MockSetsOptions;
  /**
   * Where saved settings are kept across page loads (the desktop app keeps them in a file);
   * mock builds in a browser pass `sessionStorage`. Without it they live as long as the mock.
   */
  settingsStorage?: Pick<Storage, 'getItem' | 'setItem'>;
};

/** What a backup job takes beyond the progress sink (backup sets use these). */
export type BackupJobOptions = {
  /** Which mailboxes of the tenant (and which of their folders) this job backs up. */
  select?: (tenant: MockMailbox[]) => MockMailbox[];
  /** Asked before each progress message; true stops the job with `cancelled`. */
  shouldStop?: () => boolean;
};

/** The human-readable form of a location, as RepoSummary.path shows it. */
export function locationLabel(location: RepoLocation): string {
  if (location.kind === 'local') return location.path.trim();
  const prefix = location.prefix.trim().replace(/^\/+|\/+$/g, '');
  return `s3://${location.bucket.trim()}${prefix ? `/${prefix}` : ''} @ ${location.endpoint.trim()}`;
}

/** The first progress message of a job: nothing done yet, no pace known. */
export function progressStart(itemsTotal: number): Progress {
  return {
    phase: 'listing',
    mailbox: null,
    folder: null,
    itemsDone: 0,
    itemsTotal,
    bytesDone: 0,
    elapsedMs: 0,
    itemsPerSecond: 0,
    etaSeconds: null,
    requests: 0,
    throttledNow: 0,
    throttleWaitMs: 0,
  };
}

/** Deterministic 64-hex-digit id from a seed (not cryptographic). */
export function fakeId(seed: string): string {
  let out = '';
  let h = 0x811c9dc5;
  for (let round = 0; out.length < 64; round++) {
    for (const ch of `${seed}#${round}`) {
      h ^= ch.charCodeAt(0);
      h = Math.imul(h, 0x01000193) >>> 0;
    }
    out += h.toString(16).padStart(8, '0');
  }
  return out.slice(0, 64);
}

const SUBJECTS = [
  'Quarterly planning — draft agenda',
  'Re: Invoice 2024-118',
  'Team offsite logistics',
  'Your weekly digest',
  'Contract renewal: Fabrikam',
  'Fwd: Updated security policy',
  'Lunch on Thursday?',
  'Design review notes',
  'Re: Budget approval',
  'Onboarding checklist for new starters',
  'Server maintenance window',
  'Customer feedback summary',
];
const SENDERS = [
  'Megan Bowen <megan@contoso.example>',
  'Adele Vance <adele@contoso.example>',
  'Lee Gu <lee@contoso.example>',
  'Fabrikam Billing <billing@fabrikam.example>',
  'IT Service Desk <it@contoso.example>',
];

function makeItems(owner: string, folder: string, count: number, base: Date, extra = 0): ItemEntry[] {
  const items: ItemEntry[] = [];
  for (let i = 0; i < count + extra; i++) {
    const received = new Date(base.getTime() - (count - i) * 3_600_000 * 7);
    items.push({
      id: `AAMk-${owner.split('@')[0]}-${folder.toLowerCase().replace(/\s+/g, '-')}-${i + 1}`,
      subject: SUBJECTS[(i + folder.length + owner.length) % SUBJECTS.length],
      from: SENDERS[(i * 3 + folder.length) % SENDERS.length],
      receivedDateTime: received.toISOString(),
      size: 2_048 + ((i * 7919 + folder.length * 131) % 240_000),
      isRead: i % 3 !== 0,
      hasAttachments: i % 4 === 1,
    });
  }
  return items;
}

/** Many items, built cheaply (the browser tests scroll through 100,000). */
function makeLargeFolder(count: number, base: Date): MockFolder {
  const items: ItemEntry[] = new Array(count);
  for (let i = 0; i < count; i++) {
    items[i] = {
      id: `AAMk-alice-newsletters-${i + 1}`,
      subject: `${SUBJECTS[i % SUBJECTS.length]} #${i + 1}`,
      from: SENDERS[(i * 7) % SENDERS.length],
      receivedDateTime: new Date(base.getTime() - (count - i) * 600_000).toISOString(),
      size: 1_024 + ((i * 7919) % 480_000),
      isRead: i % 5 !== 0,
      hasAttachments: i % 9 === 4,
    };
  }
  return { name: LARGE_FOLDER, items, children: [] };
}

/** The demo tenant's mail at `time`; `generation` adds a few new messages per backup. */
function demoTenant(time: Date, generation: number): MockMailbox[] {
  return [
    {
      upn: 'alice@contoso.example',
      folders: [
        {
          name: 'Inbox',
          items: makeItems('alice@contoso.example', 'Inbox', 8, time, generation),
          children: [
            { name: 'Projects', items: makeItems('alice@contoso.example', 'Projects', 3, time), children: [] },
            { name: 'Receipts', items: [], children: [] },
          ],
        },
        { name: 'Sent Items', items: makeItems('alice@contoso.example', 'Sent Items', 4, time), children: [] },
        { name: 'Archive', items: [], children: [] },
      ],
    },
    {
      upn: 'bob@contoso.example',
      folders: [
        { name: 'Inbox', items: makeItems('bob@contoso.example', 'Inbox', 5, time, generation), children: [] },
        { name: 'Sent Items', items: makeItems('bob@contoso.example', 'Sent Items', 2, time), children: [] },
      ],
    },
  ];
}

function folderItemCount(folder: MockFolder): number {
  return folder.items.length + folder.children.reduce((n, c) => n + folderItemCount(c), 0);
}
function folderBytes(folder: MockFolder): number {
  return (
    folder.items.reduce((n, i) => n + i.size, 0) + folder.children.reduce((n, c) => n + folderBytes(c), 0)
  );
}
function allFolders(folders: MockFolder[], prefix: string): { path: string; folder: MockFolder }[] {
  return folders.flatMap((f) => [
    { path: `${prefix}/${f.name}`, folder: f },
    ...allFolders(f.children, `${prefix}/${f.name}`),
  ]);
}

function makeSnapshot(id: string, time: Date, mailboxes: MockMailbox[]): MockSnapshot {
  const itemCount = mailboxes.reduce((n, m) => n + m.folders.reduce((k, f) => k + folderItemCount(f), 0), 0);
  const sizeBytes = mailboxes.reduce((n, m) => n + m.folders.reduce((k, f) => k + folderBytes(f), 0), 0);
  return {
    snapshot: {
      id,
      shortId: id.slice(0, 8),
      time: time.toISOString().replace(/\.\d{3}Z$/, 'Z'),
      hostname: DEMO_HOSTNAME,
      mailboxes: mailboxes.map((m) => m.upn),
      itemCount,
      sizeBytes,
    },
    mailboxes,
  };
}

const clone = <T>(value: T): T => JSON.parse(JSON.stringify(value)) as T;

export class MockBackend implements Backend {
  readonly defaultRepoPath: string;
  /** Backup sets, sign-in, directory and history (mock/sets.ts). */
  readonly sets: MockSets;
  /** Search, restore and export (mock/jobs.ts). */
  readonly jobs: MockJobs = new MockJobs(this);
  private readonly repos = new Map<string, MockRepo>();
  private current: MockRepo | null = null;
  private running = false;
  private readonly stepDelayMs: number;
  readonly now: () => Date;
  private readonly onStep?: (progress: Progress) => void | Promise<void>;
  private readonly largeFolder: MockFolder | null;
  private settings: Settings = { ...DEFAULT_SETTINGS };
  private readonly settingsStorage?: Pick<Storage, 'getItem' | 'setItem'>;
  /** Received time of each demo message when first seen (it keeps it in later snapshots). */
  private readonly receivedDates = new Map<string, string>();
  /** How often `openLogFolder` was called (it opens nothing). */
  logFolderOpened = 0;
  /** What `remember: true` stored, by repository location label: the fake OS keychain. */
  readonly keychain = new Map<string, string>();

  constructor(options: MockBackendOptions = {}) {
    this.defaultRepoPath = options.defaultRepoPath ?? DEMO_REPO_PATH;
    this.stepDelayMs = options.stepDelayMs ?? 0;
    this.now = options.now ?? (() => new Date());
    this.onStep = options.onStep;
    this.sets = new MockSets(this, options.sets);
    this.settingsStorage = options.settingsStorage;
    try {
      const stored = this.settingsStorage?.getItem(SETTINGS_KEY);
      if (stored) this.settings = { ...DEFAULT_SETTINGS, ...(JSON.parse(stored) as Partial<Settings>) };
    } catch {
      // Unreadable: the defaults stand.
    }
    const times = options.snapshotTimes ?? ['2025-01-06T07:30:00Z', '2025-01-13T07:30:00Z', '2025-01-20T07:30:00Z'];
    const large = options.largeFolderItems ?? 0;
    this.largeFolder = large > 0 ? makeLargeFolder(large, new Date(times[0] ?? '2025-01-01T00:00:00Z')) : null;
    const repo: MockRepo = {
      id: fakeId(`repo:${this.defaultRepoPath}`),
      path: this.defaultRepoPath,
      password: options.password ?? DEMO_PASSWORD,
      snapshots: times.map((t, i) => makeSnapshot(fakeId(`snap:${t}`), new Date(t), this.tenant(new Date(t), i))),
    };
    this.repos.set(repo.path, repo);
    if (options.open) this.current = repo;
  }

  /** The demo tenant plus, when configured, the large folder (unchanged in every snapshot). */
  private tenant(time: Date, generation: number): MockMailbox[] {
    const tenant = demoTenant(time, generation);
    settleDemoTenant(tenant, generation, this.receivedDates);
    if (this.largeFolder) tenant[0].folders.push(this.largeFolder);
    return tenant;
  }

  /** The demo tenant's mail now (backup sets' folder tree). */
  mockTenant(time: Date): MockMailbox[] {
    return this.tenant(time, 0);
  }

  /** The demo tenant's user mailboxes (backup sets' directory). */
  mailboxUpns(): string[] {
    return demoTenant(new Date(0), 0).map((m) => m.upn);
  }

  /** Stored size of a snapshot of the open repository, or null. */
  snapshotSize(snapshotId: string): number | null {
    return this.current?.snapshots.find((s) => s.snapshot.id === snapshotId)?.snapshot.sizeBytes ?? null;
  }

  private summary(repo: MockRepo): RepoSummary {
    return { id: repo.id, path: repo.path, snapshotCount: repo.snapshots.length, keychainWarning: null };
  }

  private requireRepo(): MockRepo {
    if (!this.current) throw apiError('repo_not_open', 'No repository is open.');
    return this.current;
  }

  /** The open repository's snapshots, oldest first, as stored (for mock/jobs.ts; do not modify). */
  snapshotData(): MockSnapshot[] {
    return this.requireRepo().snapshots;
  }

  /** Awaits the configured onStep and delay after a progress message (backups and mock/jobs.ts). */
  async step(progress: Progress): Promise<void> {
    await this.onStep?.({ ...progress });
    if (this.stepDelayMs > 0) await new Promise((resolve) => setTimeout(resolve, this.stepDelayMs));
    else await Promise.resolve();
  }

  async appInfo(): Promise<AppInfo> {
    return {
      version: '0.1.0-mock',
      demoTenant: true,
      graphUrl: DEMO_GRAPH_URL,
      defaultRepoPath: this.defaultRepoPath,
      logDir: DEMO_LOG_DIR,
      repo: this.current ? this.summary(this.current) : null,
    };
  }

  async repoOpen({ location, password, create, remember, s3SecretAccessKey }: RepoOpenArgs): Promise<RepoSummary> {
    if (location.kind === 'local') {
      if (!location.path.trim()) throw apiError('invalid_input', 'The repository path is empty.');
    } else {
      if (!/^https?:\/\/[^/\s]+/.test(location.endpoint.trim())) {
        throw apiError('invalid_input', 'The S3 endpoint must be an http:// or https:// URL.');
      }
      if (!location.bucket.trim()) throw apiError('invalid_input', 'The S3 bucket is empty.');
      if (!location.accessKeyId.trim() || !s3SecretAccessKey) {
        throw apiError('invalid_input', 'The S3 access key id and secret access key are required.');
      }
    }
    if (!password) throw apiError('invalid_input', 'The password is empty.');
    const key = locationLabel(location);
    const existing = this.repos.get(key);
    let repo: MockRepo;
    if (create) {
      if (existing) throw apiError('invalid_input', `A repository already exists at ${key}.`);
      repo = { id: fakeId(`repo:${key}`), path: key, password, snapshots: [] };
      this.repos.set(key, repo);
    } else {
      if (!existing) throw apiError('not_found', `No repository found at ${key}.`);
      if (existing.password !== password) {
        throw apiError('wrong_password', 'Wrong password: the repository key could not be decrypted.');
      }
      repo = existing;
    }
    if (remember) this.keychain.set(key, password);
    else this.keychain.delete(key);
    this.current = repo;
    return this.summary(repo);
  }

  async snapshotsList(): Promise<Snapshot[]> {
    return clone(this.requireRepo().snapshots.map((s) => s.snapshot));
  }

  async snapshotBrowse(snapshotId: string, path: string): Promise<Browse> {
    const repo = this.requireRepo();
    const snap = repo.snapshots.find((s) => s.snapshot.id === snapshotId);
    if (!snap) throw apiError('not_found', `Snapshot ${snapshotId.slice(0, 8)} not found.`);
    if (path === '') {
      const folders: FolderEntry[] = snap.mailboxes.map((m) => ({
        name: m.upn,
        path: `/${m.upn}`,
        itemCount: m.folders.reduce((n, f) => n + folderItemCount(f), 0),
        childCount: m.folders.length,
      }));
      return { snapshotId, path, folders, items: [] };
    }
    const [, upn, ...names] = path.split('/');
    const mailbox = snap.mailboxes.find((m) => m.upn === upn);
    let children = mailbox?.folders;
    let items: ItemEntry[] = [];
    for (const name of names) {
      const folder: MockFolder | undefined = children?.find((f) => f.name === name);
      children = folder?.children;
      items = folder?.items ?? [];
    }
    if (!children) throw apiError('not_found', `Folder ${path} not found in snapshot ${snap.snapshot.shortId}.`);
    const folders: FolderEntry[] = children.map((f) => ({
      name: f.name,
      path: `${path}/${f.name}`,
      itemCount: f.items.length,
      childCount: f.children.length,
    }));
    // Newest first, then by id, as the engine lists them.
    const sorted = items
      .map((i) => ({ ...i }))
      .sort((a, b) => (a.receivedDateTime < b.receivedDateTime ? 1 : a.receivedDateTime > b.receivedDateTime ? -1 : a.id < b.id ? -1 : 1));
    return { snapshotId, path, folders, items: sorted };
  }

  async itemPreview(snapshotId: string, path: string): Promise<ItemPreview> {
    const repo = this.requireRepo();
    const snap = repo.snapshots.find((s) => s.snapshot.id === snapshotId);
    if (!snap) throw apiError('not_found', `Snapshot ${snapshotId.slice(0, 8)} not found.`);
    const [, upn, ...names] = path.split('/');
    const itemName = names.pop();
    const mailbox = snap.mailboxes.find((m) => m.upn === upn);
    let folder: MockFolder | undefined;
    let children = mailbox?.folders;
    for (const name of names) {
      folder = children?.find((f) => pathSegment(f.name) === name);
      children = folder?.children;
    }
    const item = folder?.items.find((i) => pathSegment(i.id) === itemName);
    if (!mailbox || !item) throw apiError('not_found', `Item ${path} not found in snapshot ${snap.snapshot.shortId}.`);
    return demoPreview(item, mailbox.upn);
  }

  async itemVersions(itemId: string): Promise<ItemVersionInfo[]> {
    return itemVersions(this.requireRepo().snapshots, itemId);
  }

  async openLogFolder(): Promise<void> {
    this.logFolderOpened++;
  }

  async settingsGet(): Promise<Settings> {
    return { ...this.settings };
  }

  async settingsSet(settings: Settings): Promise<Settings> {
    if (!THEMES.includes(settings.theme)) throw apiError('invalid_input', `Unknown theme ${settings.theme}.`);
    if (!LOG_LEVELS.includes(settings.logLevel)) throw apiError('invalid_input', `Unknown log level ${settings.logLevel}.`);
    if (
      !Number.isInteger(settings.concurrency) ||
      settings.concurrency < CONCURRENCY_MIN ||
      settings.concurrency > CONCURRENCY_MAX
    ) {
      throw apiError('invalid_input', `Concurrency must be a whole number from ${CONCURRENCY_MIN} to ${CONCURRENCY_MAX}.`);
    }
    this.settings = { ...settings };
    this.settingsStorage?.setItem(SETTINGS_KEY, JSON.stringify(this.settings));
    return { ...this.settings };
  }

  async backupRun(onProgress: (progress: Progress) => void): Promise<BackupReport> {
    this.requireRepo();
    if (this.running) throw apiError('already_running', 'A backup is already running.');
    this.running = true;
    try {
      return await this.backupJob(onProgress);
    } finally {
      this.running = false;
    }
  }

  /** A backup into the open repository: streams progress, makes a snapshot (backupRun, set runs). */
  async backupJob(onProgress: (progress: Progress) => void, options: BackupJobOptions = {}): Promise<BackupReport> {
    const repo = this.requireRepo();
    const started = Date.now();
    {
      const time = this.now();
      const generation = repo.snapshots.length;
      const all = this.tenant(time, generation);
      const tenant = options.select ? options.select(all) : all;
      const firstBackup = repo.snapshots.length === 0;
      // Pace as the engine reports it: rate over the run so far, time left, throttling.
      const emit = async (p: Progress) => {
        if (options.shouldStop?.()) throw apiError('cancelled', 'The backup was stopped; this run made no snapshot.');
        const elapsedMs = Date.now() - started;
        const rate = elapsedMs >= 500 ? p.itemsDone / (elapsedMs / 1000) : 0;
        const left = p.itemsTotal - p.itemsDone;
        const out: Progress = {
          ...p,
          elapsedMs,
          itemsPerSecond: Math.round(rate * 10) / 10,
          etaSeconds: rate > 0 && left > 0 ? Math.ceil(left / rate) : null,
        };
        onProgress(out);
        await this.step(out);
      };

      const progress = progressStart(0);
      await emit(progress);
      // The large folder is unchanged since the first snapshot: carried over, not fetched.
      const work = tenant.flatMap((m) =>
        allFolders(m.folders, `/${m.upn}`)
          .filter((f) => f.folder !== this.largeFolder)
          .map((f) => ({ mailbox: m, ...f })),
      );
      progress.itemsTotal = work.reduce((n, w) => n + w.folder.items.length, 0);

      const failed: FailedItem[] = [];
      let itemsFetched = 0;
      let bytesAdded = 0;
      let lastMailbox = '';
      for (const w of work) {
        if (w.mailbox.upn !== lastMailbox) {
          lastMailbox = w.mailbox.upn;
          await emit(Object.assign(progress, { phase: 'mailbox', mailbox: w.mailbox.upn, folder: null }));
        }
        const folderName = w.path.slice(w.mailbox.upn.length + 2);
        await emit(Object.assign(progress, { phase: 'folder', folder: folderName }));
        for (let i = 0; i < w.folder.items.length; i++) {
          const item = w.folder.items[i];
          // The demo tenant throttles one of Bob's messages on every run.
          if (item.id === 'AAMk-bob-inbox-3') {
            // Exchange makes it wait (Retry-After) before giving up on it.
            await emit(Object.assign(progress, { phase: 'items', throttledNow: 1 }));
            progress.throttledNow = 0;
            failed.push({
              mailbox: w.mailbox.upn,
              folder: folderName,
              itemId: item.id,
              reason: 'Graph returned 429 Too Many Requests after 5 retries',
            });
            w.folder.items.splice(i, 1);
            i--;
            progress.itemsDone++;
            continue;
          }
          progress.itemsDone++;
          progress.bytesDone += item.size;
          // Incremental: only new messages (the last one of each Inbox) are fetched again.
          const isNew = firstBackup || (w.folder.name === 'Inbox' && i === w.folder.items.length - 1);
          if (isNew) {
            itemsFetched++;
            bytesAdded += Math.round(item.size * 0.62); // after compression
          }
          if (progress.itemsDone % 3 === 0 || i === w.folder.items.length - 1) {
            await emit(Object.assign(progress, { phase: 'items' }));
          }
        }
      }
      await emit(Object.assign(progress, { phase: 'saving', mailbox: null, folder: null }));
      const snap = makeSnapshot(fakeId(`snap:${time.toISOString()}:${generation}`), time, tenant);
      repo.snapshots.push(snap);
      onProgress({ ...progress, phase: 'done' });
      return {
        snapshotId: snap.snapshot.id,
        mailboxes: tenant.length,
        folders: work.length + (this.largeFolder ? 1 : 0),
        items: snap.snapshot.itemCount,
        itemsFetched,
        bytesAdded: bytesAdded + 4_096,
        failed,
        durationMs: Math.max(1, Date.now() - started),
      };
    }
  }

  // --- Backup sets, sign-in, directory, history: mock/sets.ts ---
  setsList = () => this.sets.setsList();
  setGet = (name: string) => this.sets.setGet(name);
  setSave = (form: SetForm, replace: boolean) => this.sets.setSave(form, replace);
  setRemove = (name: string) => this.sets.setRemove(name);
  setRun = (name: string, onProgress: (progress: Progress) => void) => this.sets.setRun(name, onProgress);
  setStop = (name: string) => this.sets.setStop(name);
  historyList = (setName: string | null, limit: number) => this.sets.historyList(setName, limit);
  historyLog = (runId: number) => this.sets.historyLog(runId);
  demoConnection = () => this.sets.demoConnection();
  signinApp = (connection: SetConnection, secret: AppSecret) => this.sets.signinApp(connection, secret);
  signinDevice = (connection: SetConnection, onPrompt: (prompt: DeviceCodePrompt) => void) =>
    this.sets.signinDevice(connection, onPrompt);
  signinBrowser = (connection: SetConnection) => this.sets.signinBrowser(connection);
  signinCancel = () => this.sets.signinCancel();
  connectionTest = (connection: SetConnection, mailboxes: MailboxSelection, categories: CategoryName[]) =>
    this.sets.connectionTest(connection, mailboxes, categories);
  directoryMailboxes = (connection: SetConnection) => this.sets.directoryMailboxes(connection);
  directoryFolders = (connection: SetConnection, mailbox: string, parentId: string | null) =>
    this.sets.directoryFolders(connection, mailbox, parentId);

  // --- Search, restore, export: mock/jobs.ts ---
  search = (query: SearchQuery) => this.jobs.search(query);
  restoreRun = (request: RestoreRequest, onProgress: (progress: Progress) => void) =>
    this.jobs.restoreRun(request, onProgress);
  exportRun = (request: ExportRequest, onProgress: (progress: Progress) => void) => this.jobs.exportRun(request, onProgress);
  jobCancel = () => this.jobs.jobCancel();
  pickFolder = (title: string) => this.jobs.pickFolder(title);

}

const RECIPIENTS = ['Alex Wilber <alex@contoso.example>', 'Diego Siciliani <diego@contoso.example>'];

/** A message body for the preview pane; a few demo messages carry hostile HTML on purpose. */
export function demoPreview(item: ItemEntry, owner: string): ItemPreview {
  const n = Number(item.id.split('-').at(-1)) || 0;
  const attachments = item.hasAttachments
    ? [
        { name: `Report-${n}.pdf`, size: 48_213 + n * 17, contentType: 'application/pdf' },
        { name: 'photo.jpg', size: 182_004, contentType: 'image/jpeg' },
      ]
    : [];
  const base = { subject: item.subject, from: item.from, to: [owner], cc: n % 2 ? RECIPIENTS.slice(0, 1) : [], date: item.receivedDateTime, attachments };
  if (item.id === HOSTILE_ITEM_ID) {
    return {
      ...base,
      html: hostileHtml(owner),
      text: null,
    };
  }
  if (item.id === CHANGED_ITEM_ID && item.subject.startsWith(CHANGED_SUBJECT_TAG)) {
    return {
      ...base,
      html: `<p>Hello,</p><p>${escapeHtml(item.subject)}: details below.</p><p><em>${escapeHtml(CHANGED_NOTE)}</em></p><p>Regards,<br>${escapeHtml(item.from)}</p>`,
      text: `Hello,\n\n${item.subject}: details below.\n\n${CHANGED_NOTE}`,
    };
  }
  if (item.id === TEXT_ITEM_ID) {
    return { ...base, html: null, text: `Hi,\n\nplain text only: <b>not bold</b>.\n\n-- \n${item.from}` };
  }
  return {
    ...base,
    html: `<p>Hello,</p><p>${escapeHtml(item.subject)}: details below.</p><ul><li>Item ${n}</li><li>Size ${item.size} bytes</li></ul><p>Regards,<br>${escapeHtml(item.from)}</p>`,
    text: `Hello,\n\n${item.subject}: details below.`,
  };
}

/**
 * A newsletter that tries everything a mail can try: scripts, event handlers, remote images,
 * CSS and imports, frames, forms, SVG, plugins and script links. Every attempt to run code
 * posts a message to the parent window, so tests can prove that none did.
 */
export function hostileHtml(owner: string): string {
  const ran = (what: string) => `parent.postMessage('qcb-${what}-ran','*')`;
  return `<!doctype html><html><head>
<style>@import url(https://tracker.example/import.css);
.hero{padding:1em;background:url("https://tracker.example/bg.png")} .dot{background:url(data:image/gif;base64,R0lGODlhAQABAAAAACw=)}</style>
<script>${ran('script')}</script>
<link rel="stylesheet" href="https://tracker.example/style.css"><meta http-equiv="refresh" content="0;url=https://tracker.example/"><base href="https://tracker.example/">
</head><body onload="${ran('onload')}">
<div class="hero"><h1>Spring newsletter</h1></div>
<p>Hello! Our <b>spring</b> collection is here.</p>
<img src="https://tracker.example/pixel.gif?u=${encodeURIComponent(owner)}" alt="Spring collection banner" width="320" height="80">
<img src="//tracker.example/protocol-relative.gif" alt="Protocol-relative image">
<img srcset="https://tracker.example/a.png 1x, https://tracker.example/b.png 2x" alt="Responsive image">
<img src="data:image/gif;base64,R0lGODlhAQABAAAAACw=" alt="Inline image">
<img src="x" alt="" onerror="${ran('onerror')}">
<p style="background-image:url('http://tracker.example/style.png')" onmouseover="${ran('onmouseover')}">Styled paragraph.</p>
<table background="https://tracker.example/table.png"><tr><td>Table cell</td></tr></table>
<p><a href="https://contoso.example/unsubscribe" onclick="${ran('onclick')}">Unsubscribe</a> · <a href="javascript:${ran('javascript-url')}">Preferences</a></p>
<iframe src="https://tracker.example/frame"></iframe>
<form action="https://tracker.example/form"><input name="q" autofocus onfocus="${ran('onfocus')}"><button>Send</button></form>
<svg><image href="https://tracker.example/svg.png"></image><script>${ran('svg-script')}</script></svg>
<object data="https://tracker.example/plugin.swf"></object><embed src="https://tracker.example/embed.swf">
<video src="https://tracker.example/video.mp4" poster="https://tracker.example/poster.png"></video>
</body></html>`;
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

}
