// The mock's backup sets, sign-in, directory and job history (see MockBackend). It behaves like
// qcb_engine::sets and the Tauri commands: the same validation (invalid_input with the engine's
// wording), not_found, already_running, runs that stream Progress and can be stopped
// (`cancelled`, recorded as interrupted), and a history row for every run whatever its outcome.
import type { BackupJobOptions, MockBackend, MockFolder, MockMailbox } from '../mock';
import { apiError } from '../errors';
import { nextDue, parseSchedule } from '../../sets/schedule';
import {
  CATEGORY_NAMES,
  type AppSecret,
  type CategoryAccess,
  type CategoryName,
  type ConnectionReport,
  type DeviceCodePrompt,
  type FolderChoice,
  type FolderFilter,
  type MailboxChoice,
  type MailboxSelection,
  type Progress,
  type RetentionPolicy,
  type RunRecord,
  type RunStatus,
  type SetConnection,
  type SetForm,
  type SetOverview,
  type SetRunReport,
  type SetWarning,
  type SignedIn,
} from '../types';

export const DEMO_TENANT_ID = '5f1c2a7e-8d4b-4c3a-9e6f-0b7d1a2c3e4f';
export const DEMO_CLIENT_ID = '0d3c7b1e-2a4f-4b8e-9c6d-5e1f3a7b9c20';
export const DEMO_AUTHORITY = 'http://127.0.0.1:8765';
export const DEMO_USER_CODE = 'QCB7-K4MD';
/** The shared mailbox of the demo tenant (the engine's demo has one). */
export const SHARED_MAILBOX = 'support@contoso.example';

export type MockSetsOptions = {
  /** How long a device-code or browser sign-in waits for the person, ms (0 in tests). */
  signinDelayMs?: number;
  /**
   * How many connection tests report Tasks.Read.All missing for the demo app (as if the admin
   * granted it afterwards); other apps always miss it. Default 0.
   */
  missingPermissionTests?: number;
  /** Start with two saved sets and a few runs in the history (dashboard demos). */
  seed?: boolean;
};

const DISPLAY_NAMES: Record<string, string> = {
  'alice@contoso.example': 'Alice Wilber',
  'bob@contoso.example': 'Bob Fischer',
};

type StoredSet = { form: SetForm; created: Date };
type ActiveRun = { stop: boolean; record: RunRecord };

const clone = <T>(value: T): T => JSON.parse(JSON.stringify(value)) as T;
const rfc3339 = (d: Date) => d.toISOString().replace(/\.\d{3}Z$/, 'Z');
const invalid = (message: string) => apiError('invalid_input', `backup set: ${message}`);

// ------------------------------------------------------------------------- folder patterns

function nameMatches(pattern: string, name: string): boolean {
  const re = new RegExp(
    `^${pattern
      .split('')
      .map((c) => (c === '*' ? '.*' : c === '?' ? '.' : c.replace(/[.+^${}()|[\]\\]/g, '\\$&')))
      .join('')}$`,
    'i',
  );
  return re.test(name);
}
/** Whether `pattern` (segments, `**` any number) names `path` or a folder above it. */
function covers(pattern: string[], path: string[]): boolean {
  if (pattern.length === 0) return true;
  const [head, ...rest] = pattern;
  if (head === '**') {
    for (let i = 0; i <= path.length; i++) if (covers(rest, path.slice(i))) return true;
    return false;
  }
  return path.length > 0 && nameMatches(head, path[0]) && covers(rest, path.slice(1));
}
function isAbove(pattern: string[], path: string[]): boolean {
  if (path.length === 0) return true;
  if (pattern.length === 0) return false;
  const [head, ...rest] = pattern;
  if (head === '**') return true;
  return nameMatches(head, path[0]) && isAbove(rest, path.slice(1));
}
/** The engine's FolderFilter verdict: exclusions win; an empty include list includes everything. */
export function folderVerdict(filter: FolderFilter, path: string[]): 'include' | 'container' | 'exclude' {
  const split = (p: string) => p.split('/').map((s) => s.trim());
  if (filter.exclude.some((p) => covers(split(p), path))) return 'exclude';
  if (filter.include.length === 0 || filter.include.some((p) => covers(split(p), path))) return 'include';
  if (filter.include.some((p) => isAbove(split(p), path))) return 'container';
  return 'exclude';
}

function filterFolders(folders: MockFolder[], filter: FolderFilter, above: string[]): MockFolder[] {
  const out: MockFolder[] = [];
  for (const f of folders) {
    const path = [...above, f.name];
    const verdict = folderVerdict(filter, path);
    if (verdict === 'exclude') continue;
    out.push({ name: f.name, items: verdict === 'include' ? f.items : [], children: filterFolders(f.children, filter, path) });
  }
  return out;
}

// ------------------------------------------------------------------------- helpers

function retentionIsEmpty(r: RetentionPolicy): boolean {
  return (
    r.keepLast == null &&
    (r.keepWithin == null || r.keepWithin.trim() === '') &&
    r.keepHourly == null &&
    r.keepDaily == null &&
    r.keepWeekly == null &&
    r.keepMonthly == null &&
    r.keepYearly == null
  );
}

const SPAN = /^\d+[hdwmy]$/;

export function mailboxesLabel(m: MailboxSelection): string {
  const parts: string[] = [];
  if (m.allUsers) parts.push('All users');
  if (m.shared) parts.push(m.allUsers ? 'shared mailboxes' : 'All shared mailboxes');
  if (m.filter) parts.push(`users matching ${m.filter}`);
  if (m.users.length === 1 && parts.length === 0) return m.users[0];
  if (m.users.length > 0) parts.push(`${m.users.length} mailbox${m.users.length === 1 ? '' : 'es'}`);
  if (parts.length === 0) return 'Every mailbox';
  return parts.join(' + ');
}

function sharedMailbox(time: Date): MockMailbox {
  const item = (i: number) => ({
    id: `AAMk-support-inbox-${i}`,
    subject: ['Order 4711: where is it?', 'Re: Refund request', 'Password reset does not arrive'][i % 3],
    from: 'Customer <someone@fabrikam.example>',
    receivedDateTime: new Date(time.getTime() - (4 - i) * 3_600_000 * 5).toISOString(),
    size: 6_000 + i * 1_337,
    isRead: i % 2 === 0,
    hasAttachments: false,
  });
  return {
    upn: SHARED_MAILBOX,
    folders: [
      { name: 'Inbox', items: [1, 2, 3].map(item), children: [] },
      { name: 'Sent Items', items: [], children: [] },
    ],
  };
}

const connectionKey = (c: SetConnection) =>
  `${c.tenantId.trim().toLowerCase()}/${c.clientId.trim().toLowerCase()}/${c.auth}${c.account ? `/${c.account}` : ''}`;

/** The Entra fix for a missing Microsoft Graph permission, as permissions.rs words it. */
export function permissionFix(permission: string, delegated: boolean): string {
  return `In Microsoft Entra admin center > App registrations > QCBackup > API permissions, add Microsoft Graph ${
    delegated ? 'delegated' : 'application'
  } permission ${permission} and grant admin consent.`;
}

const PERMISSIONS: Record<string, { read: string; write: string; readOwn: string; writeOwn: string }> = {
  mail: { read: 'Mail.Read', write: 'Mail.ReadWrite', readOwn: 'Mail.Read', writeOwn: 'Mail.ReadWrite' },
  contacts: { read: 'Contacts.Read', write: 'Contacts.ReadWrite', readOwn: 'Contacts.Read', writeOwn: 'Contacts.ReadWrite' },
  calendars: { read: 'Calendars.Read', write: 'Calendars.ReadWrite', readOwn: 'Calendars.Read', writeOwn: 'Calendars.ReadWrite' },
  tasks: { read: 'Tasks.Read.All', write: 'Tasks.ReadWrite.All', readOwn: 'Tasks.Read', writeOwn: 'Tasks.ReadWrite' },
  settings: {
    read: 'MailboxSettings.Read',
    write: 'MailboxSettings.ReadWrite',
    readOwn: 'MailboxSettings.Read',
    writeOwn: 'MailboxSettings.ReadWrite',
  },
};

// ------------------------------------------------------------------------- the mock

export class MockSets {
  readonly #sets = new Map<string, StoredSet>();
  readonly #history: RunRecord[] = [];
  readonly #active = new Map<string, ActiveRun>();
  /** Sign-ins done (the keychain holds their secret or refresh token), by connection. */
  readonly signedIn = new Set<string>();
  #nextRunId = 1;
  #missingLeft: number;
  readonly #signinDelayMs: number;
  #pendingSignin: { reject: (e: unknown) => void; timer: ReturnType<typeof setTimeout> } | null = null;

  constructor(
    readonly host: MockBackend,
    options: MockSetsOptions = {},
  ) {
    this.#signinDelayMs = options.signinDelayMs ?? 0;
    this.#missingLeft = options.missingPermissionTests ?? 0;
    if (options.seed) this.#seed();
  }

  #demo(): SetConnection {
    return {
      tenantId: DEMO_TENANT_ID,
      clientId: DEMO_CLIENT_ID,
      auth: 'client-secret',
      certificate: null,
      account: null,
      graphUrl: `${DEMO_AUTHORITY}/v1.0`,
      authority: DEMO_AUTHORITY,
    };
  }

  #isDemo(c: SetConnection): boolean {
    return c.tenantId.trim().toLowerCase() === DEMO_TENANT_ID && c.clientId.trim().toLowerCase() === DEMO_CLIENT_ID;
  }

  #find(name: string): StoredSet | undefined {
    return this.#sets.get(name.trim().toLowerCase());
  }

  #require(name: string): StoredSet {
    const set = this.#find(name);
    if (!set) throw apiError('not_found', `No backup set named ${JSON.stringify(name)}.`);
    return set;
  }

  #seed() {
    const now = this.host.now();
    const base = {
      runOn: 'client' as const,
      repository: this.host.defaultRepoPath,
      connection: this.#demo(),
      categories: [...CATEGORY_NAMES],
      folders: { include: [], exclude: [] },
    };
    const nightly: SetForm = {
      ...base,
      name: 'Nightly – all users',
      schedule: 'daily 02:30',
      mailboxes: { allUsers: true, users: [], filter: null, shared: false },
      retention: {
        keepLast: null, keepWithin: null, keepHourly: null, keepDaily: 7, keepWeekly: 4, keepMonthly: 12, keepYearly: null,
        deletedItemRetention: null,
      },
    };
    const support: SetForm = {
      ...base,
      name: 'Support mailbox',
      schedule: 'every 6h',
      categories: ['mail'],
      mailboxes: { allUsers: false, users: [], filter: null, shared: true },
      retention: null,
    };
    this.#sets.set(nightly.name.toLowerCase(), { form: nightly, created: new Date(now.getTime() - 30 * 86_400_000) });
    this.#sets.set(support.name.toLowerCase(), { form: support, created: new Date(now.getTime() - 10 * 86_400_000) });
    this.signedIn.add(connectionKey(base.connection));
    // Items per run as the demo tenant grows (a run now takes about 27).
    const items = [19, 20, 20, 22, 21, 23, 24, 26];
    items.forEach((n, i) => {
      const day = items.length - i;
      const started = new Date(now.getFullYear(), now.getMonth(), now.getDate() - day, 2, 30);
      const status: RunStatus = i === 4 ? 'warning' : 'succeeded';
      this.#record({
        setName: nightly.name, trigger: 'schedule', started, status, items: n, itemsFetched: i === 0 ? n : 2 + (i % 3),
        failed: status === 'warning'
          ? [{ mailbox: 'bob@contoso.example', folder: 'Inbox', itemId: 'AAMk-bob-inbox-3', reason: 'Graph returned 429 Too Many Requests after 5 retries' }]
          : [],
      });
    });
    this.#record({
      setName: support.name, trigger: 'schedule', started: new Date(now.getTime() - 5 * 3_600_000), status: 'failed',
      items: 0, itemsFetched: 0, failed: [],
      message: 'Sign-in failed: AADSTS7000222: The provided client secret keys for app QCBackup are expired.',
    });
  }

  #record(r: {
    setName: string; trigger: string; started: Date; status: RunStatus; items: number; itemsFetched: number;
    failed: { mailbox: string; folder: string; itemId: string; reason: string }[]; message?: string;
  }): RunRecord {
    const record: RunRecord = {
      id: this.#nextRunId++,
      setName: r.setName,
      trigger: r.trigger,
      host: 'qcb-workstation',
      started: rfc3339(r.started),
      finished: rfc3339(new Date(r.started.getTime() + 94_000)),
      status: r.status,
      snapshotId: r.status === 'failed' ? null : `seed${String(this.#nextRunId).padStart(60, '0')}`,
      mailboxes: r.status === 'failed' ? 0 : 2,
      items: r.items,
      itemsFetched: r.itemsFetched,
      bytesAdded: r.itemsFetched * 21_000,
      failedItems: r.failed.length,
      snapshotsForgotten: 0,
      message: r.message ?? null,
      report: { failed: r.failed, durationMs: 94_000 },
    };
    this.#history.push(record);
    return record;
  }

  #validate(form: SetForm) {
    const name = form.name.trim();
    if (name === '' || name !== form.name) throw invalid('the name is empty or starts or ends with spaces');
    // eslint-disable-next-line no-control-regex
    if ([...name].length > 100 || /[\u0000-\u001f\u007f]/.test(name)) {
      throw invalid(`the name ${JSON.stringify(name)} is too long (100 at most) or has control characters`);
    }
    if (form.repository.trim() === '') throw invalid('repository "": the repository location is empty');
    const c = form.connection;
    if (c.tenantId.trim() === '' || c.clientId.trim() === '') throw invalid('the connection needs a tenant-id and a client-id');
    for (const [what, url] of [['graph-url', c.graphUrl], ['authority', c.authority]] as const) {
      if (!/^https?:\/\/\S+$/.test(url)) throw invalid(`connection ${what} ${JSON.stringify(url)} is not a URL`);
    }
    if (c.auth === 'delegated' && !c.account?.trim()) throw invalid('a delegated sign-in needs the account (the person who signed in)');
    if (c.auth !== 'delegated' && c.account != null) throw invalid('account is only for auth = "delegated"');
    if (c.certificate != null && c.auth !== 'certificate') throw invalid('certificate is only for auth = "certificate"');
    if (form.mailboxes.filter != null && form.mailboxes.filter.trim() === '') {
      throw invalid("the mailbox filter is empty; leave it out or write an OData $filter such as userType eq 'Member'");
    }
    const emptyUser = form.mailboxes.users.find((u) => u.trim() === '');
    if (emptyUser !== undefined) throw invalid(`a mailbox name is empty (${JSON.stringify(emptyUser)})`);
    for (const p of [...form.folders.include, ...form.folders.exclude]) {
      if (p.trim() === '') throw invalid('a folder pattern is empty');
      if (p.split('/').some((s) => s.trim() === '')) {
        throw invalid(`folder pattern ${JSON.stringify(p)} has an empty name: write paths such as Inbox/Projects`);
      }
    }
    try {
      parseSchedule(form.schedule);
    } catch (e) {
      throw invalid((e as Error).message);
    }
    const r = form.retention;
    if (r) {
      if (retentionIsEmpty(r)) {
        throw invalid('the retention policy has no keep rule (keep-last, keep-daily ...); leave it out to keep every snapshot');
      }
      for (const [what, n] of Object.entries(r)) {
        if (typeof n === 'number' && (!Number.isInteger(n) || n < 1)) throw invalid(`retention ${what} must be a whole number of 1 or more`);
      }
      for (const [what, span] of [['keep-within', r.keepWithin], ['deleted-item-retention', r.deletedItemRetention]] as const) {
        if (span != null && !SPAN.test(span.trim())) throw invalid(`retention ${what} ${JSON.stringify(span)} is not a span such as 30d, 12w or 1y`);
      }
    }
  }

  #overview(stored: StoredSet): SetOverview {
    const form = stored.form;
    const runs = this.#history.filter((r) => r.setName.toLowerCase() === form.name.toLowerCase());
    const finished = runs.filter((r) => r.status !== 'running');
    const lastRun = runs.at(-1) ?? null;
    const lastOk = [...finished].reverse().find((r) => r.snapshotId);
    const snapshot = lastOk?.snapshotId
      ? this.host.snapshotSize(lastOk.snapshotId)
      : null;
    const warnings: SetWarning[] = [];
    if (!this.signedIn.has(connectionKey(form.connection))) {
      warnings.push({
        code: 'missing_secret',
        message: 'The sign-in of this set is not in the keychain of this computer: edit the set and sign in again.',
      });
    }
    const lastFinished = finished.at(-1);
    if (lastFinished?.status === 'failed') {
      warnings.push({ code: 'last_run_failed', message: `The last run failed: ${lastFinished.message ?? 'see the history'}` });
    }
    const schedule = parseSchedule(form.schedule);
    const next = nextDue(schedule, this.host.now(), lastRun ? new Date(lastRun.started) : stored.created);
    return {
      name: form.name,
      runOn: form.runOn,
      schedule: form.schedule,
      repository: form.repository,
      mailboxesLabel: mailboxesLabel(form.mailboxes),
      categories: [...form.categories],
      lastRun: lastRun ? clone(lastRun) : null,
      nextRun: next ? rfc3339(next) : null,
      sizeBytes: snapshot ?? (lastOk ? lastOk.items * 30_000 : null),
      itemsPerRun: finished.filter((r) => r.snapshotId).slice(-20).map((r) => r.items),
      running: this.#active.has(form.name.toLowerCase()),
      warnings,
    };
  }

  // --- sets ---

  async setsList(): Promise<SetOverview[]> {
    return [...this.#sets.values()]
      .sort((a, b) => a.form.name.localeCompare(b.form.name))
      .map((s) => this.#overview(s));
  }

  async setGet(name: string): Promise<SetForm> {
    return clone(this.#require(name).form);
  }

  async setSave(form: SetForm, replace: boolean): Promise<SetOverview> {
    this.#validate(form);
    const key = form.name.toLowerCase();
    const existing = this.#sets.get(key);
    if (existing && !replace) throw invalid(`a set named ${JSON.stringify(existing.form.name)} already exists`);
    // Per-mailbox categories (set in TOML) stay when the form leaves them out.
    const mailboxCategories = form.mailboxCategories ?? existing?.form.mailboxCategories ?? null;
    const stored: StoredSet = { form: clone({ ...form, mailboxCategories }), created: existing?.created ?? this.host.now() };
    this.#sets.set(key, stored);
    return this.#overview(stored);
  }

  async setRemove(name: string): Promise<void> {
    const set = this.#require(name);
    if (this.#active.has(set.form.name.toLowerCase())) {
      throw apiError('already_running', `The backup set ${JSON.stringify(set.form.name)} is running; stop it first.`);
    }
    this.#sets.delete(set.form.name.toLowerCase());
  }

  async setRun(name: string, onProgress: (progress: Progress) => void): Promise<SetRunReport> {
    const set = this.#require(name);
    const form = clone(set.form);
    const key = form.name.toLowerCase();
    if (this.#active.has(key)) throw apiError('already_running', `The backup set ${JSON.stringify(form.name)} is already running.`);
    const started = this.host.now();
    const record: RunRecord = {
      id: this.#nextRunId++, setName: form.name, trigger: 'manual', host: 'qcb-workstation', started: rfc3339(started),
      finished: null, status: 'running', snapshotId: null, mailboxes: 0, items: 0, itemsFetched: 0, bytesAdded: 0,
      failedItems: 0, snapshotsForgotten: 0, message: null, report: null,
    };
    const active: ActiveRun = { stop: false, record };
    this.#active.set(key, active);
    this.#history.push(record);
    const finish = (status: RunStatus, message: string | null) => {
      record.status = status;
      record.finished = rfc3339(this.host.now());
      record.message = message;
      this.#active.delete(key);
    };
    try {
      if (!this.signedIn.has(connectionKey(form.connection))) {
        throw apiError('missing_secret', 'The sign-in of this set is not in the keychain: edit the set and sign in again.');
      }
      const options: BackupJobOptions = {
        shouldStop: () => active.stop,
        select: (tenant) => this.#select(tenant, form, started),
      };
      const backup = await this.host.backupJob(onProgress, options);
      const status: RunStatus = backup.failed.length > 0 ? 'warning' : 'succeeded';
      Object.assign(record, {
        snapshotId: backup.snapshotId,
        mailboxes: backup.mailboxes,
        items: backup.items,
        itemsFetched: backup.itemsFetched,
        bytesAdded: backup.bytesAdded,
        failedItems: backup.failed.length,
        report: { failed: clone(backup.failed), durationMs: backup.durationMs },
      });
      finish(status, status === 'warning' ? `${backup.failed.length} item(s) could not be backed up` : null);
      return { runId: record.id, setName: form.name, status, backup };
    } catch (e) {
      const error = e as { code?: string; message?: string };
      if (error.code === 'cancelled') finish('interrupted', 'Stopped by the user.');
      else finish('failed', error.message ?? String(e));
      throw e;
    }
  }

  #select(tenant: MockMailbox[], form: SetForm, time: Date): MockMailbox[] {
    const m = form.mailboxes;
    const everything = !m.allUsers && !m.shared && m.users.length === 0 && m.filter == null;
    const users = new Set(m.users.map((u) => u.toLowerCase()));
    const chosen = tenant.filter((t) => everything || m.allUsers || m.filter != null || users.has(t.upn));
    if (everything || m.shared || users.has(SHARED_MAILBOX)) chosen.push(sharedMailbox(time));
    if (!form.categories.includes('mail')) return chosen.map((c) => ({ upn: c.upn, folders: [] }));
    return chosen.map((c) => ({ upn: c.upn, folders: filterFolders(c.folders, form.folders, []) }));
  }

  async setStop(name: string): Promise<void> {
    const set = this.#require(name);
    const active = this.#active.get(set.form.name.toLowerCase());
    if (active) active.stop = true;
  }

  async historyList(setName: string | null, limit: number): Promise<RunRecord[]> {
    const rows = this.#history
      .filter((r) => setName === null || r.setName.toLowerCase() === setName.toLowerCase())
      .sort((a, b) => (a.started < b.started ? 1 : a.started > b.started ? -1 : b.id - a.id));
    return clone(rows.slice(0, limit > 0 ? limit : rows.length));
  }

  /** What the engine's run log holds for a run: its start, each mailbox, its end. */
  async historyLog(runId: number): Promise<string> {
    const r = this.#history.find((h) => h.id === runId);
    if (!r) return '';
    const lines = [`${r.started}  INFO qcb_engine::backup: backup started mailboxes=${r.mailboxes}`];
    if (r.finished) {
      const level = r.status === 'failed' ? 'WARN' : ' INFO';
      lines.push(`${r.finished} ${level} qcb_engine::backup: backup finished items=${r.items} fetched=${r.itemsFetched} failed=${r.failedItems}`);
    }
    return lines.join('\n') + '\n';
  }

  // --- sign-in ---

  async demoConnection(): Promise<SetConnection | null> {
    return this.#demo();
  }

  #checkConnection(c: SetConnection) {
    if (c.tenantId.trim() === '' || c.clientId.trim() === '') {
      throw apiError('invalid_input', 'Enter the tenant id and the client (application) id.');
    }
  }

  async signinApp(connection: SetConnection, secret: AppSecret): Promise<SignedIn> {
    this.#checkConnection(connection);
    const demo = this.#isDemo(connection);
    if (connection.auth === 'client-secret' && !demo && !secret.clientSecret) {
      throw apiError('sign_in', 'AADSTS7000216: \'client_assertion\', \'client_secret\' or \'request\' is required for the \'client_credentials\' grant type.');
    }
    if (connection.auth === 'certificate' && !demo && !connection.certificate) {
      if (!secret.certificatePem?.includes('-----BEGIN')) {
        throw apiError('sign_in', 'The certificate is not a PEM file with a certificate and its private key.');
      }
    }
    if (connection.auth === 'delegated') throw apiError('invalid_input', 'A delegated sign-in uses the device code or the browser.');
    if (secret.clientSecret || secret.certificatePem) {
      this.host.keychain.set(`app:${connection.tenantId}/${connection.clientId}`, secret.clientSecret ?? secret.certificatePem ?? '');
    }
    this.signedIn.add(connectionKey({ ...connection, account: null }));
    return { account: null, displayName: demo ? 'Contoso (demo tenant)' : `Tenant ${connection.tenantId}` };
  }

  #wait<T>(value: T): Promise<T> {
    this.#pendingSignin?.reject(apiError('cancelled', 'Another sign-in started.'));
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pendingSignin = null;
        resolve(value);
      }, this.#signinDelayMs);
      this.#pendingSignin = { reject, timer };
    });
  }

  #personSignedIn(connection: SetConnection): SignedIn {
    const account = 'admin@contoso.example';
    this.signedIn.add(connectionKey({ ...connection, auth: 'delegated', account }));
    this.host.keychain.set(`token:${connection.tenantId}/${account}`, 'refresh-token');
    return { account, displayName: 'Megan Bowen' };
  }

  async signinDevice(connection: SetConnection, onPrompt: (prompt: DeviceCodePrompt) => void): Promise<SignedIn> {
    this.#checkConnection(connection);
    const verificationUri = this.#isDemo(connection) ? `${DEMO_AUTHORITY}/devicelogin` : 'https://microsoft.com/devicelogin';
    onPrompt({
      userCode: DEMO_USER_CODE,
      verificationUri,
      expiresInSeconds: 900,
      message: `To sign in, use a web browser to open the page ${verificationUri} and enter the code ${DEMO_USER_CODE} to authenticate.`,
    });
    await this.#wait(null);
    return this.#personSignedIn(connection);
  }

  async signinBrowser(connection: SetConnection): Promise<SignedIn> {
    this.#checkConnection(connection);
    await this.#wait(null);
    return this.#personSignedIn(connection);
  }

  async signinCancel(): Promise<void> {
    const pending = this.#pendingSignin;
    if (!pending) return;
    clearTimeout(pending.timer);
    this.#pendingSignin = null;
    pending.reject(apiError('cancelled', 'The sign-in was cancelled.'));
  }

  // --- permission check and directory ---

  async connectionTest(connection: SetConnection, mailboxes: MailboxSelection, categories: CategoryName[]): Promise<ConnectionReport> {
    this.#checkConnection(connection);
    const delegated = connection.auth === 'delegated';
    if (!this.signedIn.has(connectionKey(connection))) {
      throw apiError('sign_in', 'Not signed in with this connection: sign in first.');
    }
    let tasksMissing = !this.#isDemo(connection);
    if (!tasksMissing && this.#missingLeft > 0) {
      this.#missingLeft--;
      tasksMissing = true;
    }
    const all = await this.directoryMailboxes(connection);
    const m = mailboxes;
    const everything = !m.allUsers && !m.shared && m.users.length === 0 && m.filter == null;
    const users = new Set(m.users.map((u) => u.toLowerCase()));
    const chosen = all.filter(
      (x) => everything || (m.allUsers && !x.shared) || (m.filter != null && !x.shared) || (m.shared && x.shared) || users.has(x.address),
    );
    const probed = chosen.slice(0, 50);
    const granted = Object.entries(PERMISSIONS)
      .filter(([c]) => !(tasksMissing && c === 'tasks'))
      .map(([, p]) => (delegated ? p.writeOwn : p.write));
    granted.push(delegated ? 'User.ReadBasic.All' : 'User.Read.All');
    let problems = 0;
    const report: ConnectionReport = {
      signIn: delegated ? 'delegated' : 'application',
      granted,
      directory: { category: 'directory', read: 'ok', write: 'ok', missing: [] },
      mailboxes: probed.map((mb) => ({
        mailbox: mb.address,
        categories: categories.map((category): CategoryAccess => {
          const p = PERMISSIONS[category];
          const shared = delegated && mb.shared;
          if (category === 'tasks' && (tasksMissing || shared)) {
            problems++;
            const missing = shared ? ['Tasks.Read.Shared'] : [delegated ? p.readOwn : p.read];
            return {
              category,
              read: 'missing',
              write: 'missing',
              missing,
              fix: shared
                ? 'Microsoft To Do lists of a shared mailbox cannot be read with a delegated sign-in: use app credentials (organisation) for this set.'
                : permissionFix(missing[0], delegated),
            };
          }
          return { category, read: 'ok', write: 'ok', missing: [] };
        }),
      })),
      notTested: chosen.length - probed.length,
      problems,
    };
    return report;
  }

  async directoryMailboxes(connection: SetConnection): Promise<MailboxChoice[]> {
    this.#checkConnection(connection);
    const users = this.host.mailboxUpns().map((upn) => ({
      id: `user-${upn.split('@')[0]}`,
      address: upn,
      displayName: DISPLAY_NAMES[upn] ?? upn,
      shared: false,
    }));
    users.push({ id: 'user-support', address: SHARED_MAILBOX, displayName: 'Contoso Support', shared: true });
    return users.sort((a, b) => a.displayName.localeCompare(b.displayName));
  }

  async directoryFolders(connection: SetConnection, mailbox: string, parentId: string | null): Promise<FolderChoice[]> {
    this.#checkConnection(connection);
    const all = [...this.host.mockTenant(this.host.now()), sharedMailbox(this.host.now())];
    const mb = all.find((m) => m.upn === mailbox.toLowerCase() || `user-${m.upn.split('@')[0]}` === mailbox);
    if (!mb) throw apiError('not_found', `No mailbox ${JSON.stringify(mailbox)} in the directory.`);
    let folders = mb.folders;
    let prefix = '';
    if (parentId !== null) {
      const path = parentId.startsWith('folder:') ? decodeURIComponent(parentId.slice('folder:'.length)).split('/') : null;
      let parent: MockFolder | undefined;
      for (const name of path ?? ['\u0000']) {
        parent = folders.find((f) => f.name === name);
        folders = parent?.children ?? [];
      }
      if (!parent) throw apiError('not_found', `No folder ${parentId} in ${mb.upn}.`);
      prefix = `${path!.join('/')}/`;
    }
    return folders.map((f) => ({
      id: `folder:${encodeURIComponent(prefix + f.name)}`,
      name: f.name,
      path: prefix + f.name,
      childCount: f.children.length,
      itemCount: f.items.length,
    }));
  }
}
