// In-memory fake of the engine. Used by the unit tests and by `vite dev` in a
// plain browser (no Tauri). It behaves like the real commands: same DTOs,
// same error codes, and a backup that streams Progress messages.
//
// Demo credentials: a repository already exists at the default path with the
// password "demo" (see DEMO_PASSWORD); any other path can be created.

import type { Backend } from './index';
import { apiError } from './errors';
import type {
  AppInfo,
  BackupReport,
  Browse,
  FailedItem,
  FolderEntry,
  ItemEntry,
  Progress,
  RepoOpenArgs,
  RepoSummary,
  Snapshot,
} from './types';

export const DEMO_PASSWORD = 'demo';
export const DEMO_REPO_PATH = '/home/demo/QCBackup/repository';
export const DEMO_GRAPH_URL = 'http://127.0.0.1:8765/v1.0';
export const DEMO_HOSTNAME = 'qcb-workstation';

type MockFolder = { name: string; items: ItemEntry[]; children: MockFolder[] };
type MockMailbox = { upn: string; folders: MockFolder[] };
type MockSnapshot = { snapshot: Snapshot; mailboxes: MockMailbox[] };
type MockRepo = { id: string; path: string; password: string; snapshots: MockSnapshot[] };

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
};

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
  private readonly repos = new Map<string, MockRepo>();
  private current: MockRepo | null = null;
  private running = false;
  private readonly stepDelayMs: number;
  private readonly now: () => Date;
  private readonly onStep?: (progress: Progress) => void | Promise<void>;

  constructor(options: MockBackendOptions = {}) {
    this.defaultRepoPath = options.defaultRepoPath ?? DEMO_REPO_PATH;
    this.stepDelayMs = options.stepDelayMs ?? 0;
    this.now = options.now ?? (() => new Date());
    this.onStep = options.onStep;
    const times = options.snapshotTimes ?? ['2025-01-06T07:30:00Z', '2025-01-13T07:30:00Z', '2025-01-20T07:30:00Z'];
    const repo: MockRepo = {
      id: fakeId(`repo:${this.defaultRepoPath}`),
      path: this.defaultRepoPath,
      password: options.password ?? DEMO_PASSWORD,
      snapshots: times.map((t, i) => makeSnapshot(fakeId(`snap:${t}`), new Date(t), demoTenant(new Date(t), i))),
    };
    this.repos.set(repo.path, repo);
    if (options.open) this.current = repo;
  }

  private summary(repo: MockRepo): RepoSummary {
    return { id: repo.id, path: repo.path, snapshotCount: repo.snapshots.length };
  }

  private requireRepo(): MockRepo {
    if (!this.current) throw apiError('repo_not_open', 'No repository is open.');
    return this.current;
  }

  private async step(progress: Progress): Promise<void> {
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
      repo: this.current ? this.summary(this.current) : null,
    };
  }

  async repoOpen({ path, password, create }: RepoOpenArgs): Promise<RepoSummary> {
    const trimmed = path.trim();
    if (!trimmed) throw apiError('invalid_input', 'The repository path is empty.');
    if (!password) throw apiError('invalid_input', 'The password is empty.');
    const existing = this.repos.get(trimmed);
    if (create) {
      if (existing) throw apiError('invalid_input', `A repository already exists at ${trimmed}.`);
      const repo: MockRepo = { id: fakeId(`repo:${trimmed}`), path: trimmed, password, snapshots: [] };
      this.repos.set(trimmed, repo);
      this.current = repo;
      return this.summary(repo);
    }
    if (!existing) throw apiError('not_found', `No repository found at ${trimmed}.`);
    if (existing.password !== password) {
      throw apiError('wrong_password', 'Wrong password: the repository key could not be decrypted.');
    }
    this.current = existing;
    return this.summary(existing);
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
    return clone({ snapshotId, path, folders, items });
  }

  async backupRun(onProgress: (progress: Progress) => void): Promise<BackupReport> {
    const repo = this.requireRepo();
    if (this.running) throw apiError('already_running', 'A backup is already running.');
    this.running = true;
    const started = Date.now();
    try {
      const time = this.now();
      const generation = repo.snapshots.length;
      const tenant = demoTenant(time, generation);
      const firstBackup = repo.snapshots.length === 0;
      const emit = async (p: Progress) => {
        onProgress({ ...p });
        await this.step(p);
      };

      const progress: Progress = { phase: 'listing', mailbox: null, folder: null, itemsDone: 0, itemsTotal: 0, bytesDone: 0 };
      await emit(progress);
      const work = tenant.flatMap((m) => allFolders(m.folders, `/${m.upn}`).map((f) => ({ mailbox: m, ...f })));
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
        folders: work.length,
        items: snap.snapshot.itemCount,
        itemsFetched,
        bytesAdded: bytesAdded + 4_096,
        failed,
        durationMs: Math.max(1, Date.now() - started),
      };
    } finally {
      this.running = false;
    }
  }
}
