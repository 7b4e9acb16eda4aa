// State of the backup-set wizard: the choices of every step, whether a step may be left (and
// why not), and the SetForm they make. Secrets never live here (the sign-in step hands them
// straight to the backend).
import type {
  AuthMethod,
  CategoryName,
  ConnectionReport,
  FolderFilter,
  MailboxChoice,
  RetentionPolicy,
  RunOn,
  SetConnection,
  SetForm,
  SignedIn,
} from '../backend/types';
import { CATEGORY_NAMES, isCategoryName } from '../backend/types';
import { t } from '../i18n/en';
import { scheduleChoice, scheduleError, scheduleText, type ScheduleChoice } from './schedule';

export const STEPS = ['name', 'signin', 'permissions', 'mailboxes', 'destination', 'schedule', 'retention', 'summary'] as const;
export type Step = (typeof STEPS)[number];

export type SigninMethod = 'app' | 'device' | 'browser';
export type RetentionPreset = 'all' | 'standard' | 'long' | 'custom';
export type RetentionFields = Record<keyof RetentionPolicy, string>;
export type FolderMark = 'include' | 'exclude';

export const MICROSOFT_GRAPH = 'https://graph.microsoft.com/v1.0';
export const MICROSOFT_AUTHORITY = 'https://login.microsoftonline.com';

const COUNT_FIELDS = ['keepLast', 'keepHourly', 'keepDaily', 'keepWeekly', 'keepMonthly', 'keepYearly'] as const;
const SPAN_FIELDS = ['keepWithin', 'deletedItemRetention'] as const;
const SPAN = /^\d+[hdwmy]$/;

const EMPTY_RETENTION: RetentionFields = {
  keepLast: '',
  keepWithin: '',
  keepHourly: '',
  keepDaily: '',
  keepWeekly: '',
  keepMonthly: '',
  keepYearly: '',
  deletedItemRetention: '',
};

export function presetFields(preset: RetentionPreset): RetentionFields {
  if (preset === 'standard') return { ...EMPTY_RETENTION, keepDaily: '7', keepWeekly: '4', keepMonthly: '12' };
  if (preset === 'long') return { ...EMPTY_RETENTION, keepDaily: '7', keepWeekly: '4', keepMonthly: '12', keepYearly: '5' };
  return { ...EMPTY_RETENTION };
}

/** The preset a policy equals, else custom. */
export function presetOf(policy: RetentionPolicy | null): RetentionPreset {
  if (!policy) return 'all';
  const fields = fieldsOf(policy);
  for (const p of ['standard', 'long'] as const) {
    if (JSON.stringify(presetFields(p)) === JSON.stringify(fields)) return p;
  }
  return 'custom';
}

function fieldsOf(policy: RetentionPolicy): RetentionFields {
  const out = { ...EMPTY_RETENTION };
  for (const k of Object.keys(out) as (keyof RetentionPolicy)[]) out[k] = policy[k] == null ? '' : String(policy[k]);
  return out;
}

/** Errors of the retention fields by field, and the policy they make (null: keep everything). */
export function retentionFrom(preset: RetentionPreset, fields: RetentionFields): {
  policy: RetentionPolicy | null;
  errors: Partial<Record<keyof RetentionPolicy | 'rules', string>>;
} {
  if (preset === 'all') return { policy: null, errors: {} };
  const errors: Partial<Record<keyof RetentionPolicy | 'rules', string>> = {};
  const policy: RetentionPolicy = {
    keepLast: null,
    keepWithin: null,
    keepHourly: null,
    keepDaily: null,
    keepWeekly: null,
    keepMonthly: null,
    keepYearly: null,
    deletedItemRetention: null,
  };
  for (const k of COUNT_FIELDS) {
    const v = fields[k].trim();
    if (v === '') continue;
    const n = Number(v);
    if (!/^\d+$/.test(v) || n < 1) errors[k] = t.sets.wizard.retention.errCount;
    else policy[k] = n;
  }
  for (const k of SPAN_FIELDS) {
    const v = fields[k].trim();
    if (v === '') continue;
    if (!SPAN.test(v)) errors[k] = t.sets.wizard.retention.errSpan;
    else policy[k] = v;
  }
  const hasRule = COUNT_FIELDS.some((k) => policy[k] != null) || policy.keepWithin != null;
  if (!hasRule && Object.keys(errors).length === 0) errors.rules = t.sets.wizard.retention.errNoRule;
  return { policy, errors };
}

export class Wizard {
  readonly editing: boolean;
  step = $state<Step>('name');
  /** The furthest step reached (the stepper marks the ones before as done). */
  reached = $state(0);

  name = $state('');
  // Sign-in
  method = $state<SigninMethod>('app');
  appAuth = $state<Exclude<AuthMethod, 'delegated'>>('client-secret');
  tenantId = $state('');
  clientId = $state('');
  graphUrl = $state(MICROSOFT_GRAPH);
  authority = $state(MICROSOFT_AUTHORITY);
  /** The demo tenant's connection when the app runs on it. */
  demo = $state<SetConnection | null>(null);
  signedIn = $state<SignedIn | null>(null);
  /** The connection the sign-in was made with (a changed field asks for a new sign-in). */
  signedInWith = $state<string | null>(null);
  // Permission check (required once per new sign-in; an edited set keeps its checked one)
  report = $state<ConnectionReport | null>(null);
  needsCheck = $state(true);
  // Mailboxes
  directory = $state<MailboxChoice[] | null>(null);
  allUsers = $state(false);
  shared = $state(false);
  users = $state<string[]>([]);
  filter = $state<string | null>(null);
  categories = $state<CategoryName[]>([...CATEGORY_NAMES]);
  folderMarks = $state<Record<string, FolderMark>>({});
  // Destination, schedule, retention
  repository = $state('');
  runOn = $state<RunOn>('client');
  schedule = $state<ScheduleChoice>({ kind: 'daily', time: '02:30', days: ['mon', 'tue', 'wed', 'thu', 'fri'], custom: 'every 6h' });
  retentionPreset = $state<RetentionPreset>('standard');
  retention = $state<RetentionFields>(presetFields('standard'));
  /** Per-mailbox categories of a saved set (from TOML): passed back untouched. */
  mailboxCategories: SetForm['mailboxCategories'] = null;
  /** The saved set's connection (editing), kept for its certificate path. */
  savedConnection: SetConnection | null = null;

  constructor(options: { repository: string; demo: SetConnection | null; form?: SetForm }) {
    this.repository = options.repository;
    this.demo = options.demo;
    this.editing = !!options.form;
    const form = options.form;
    if (form) {
      this.name = form.name;
      const c = form.connection;
      this.method = c.auth === 'delegated' ? 'device' : 'app';
      if (c.auth !== 'delegated') this.appAuth = c.auth;
      this.tenantId = c.tenantId;
      this.clientId = c.clientId;
      this.graphUrl = c.graphUrl;
      this.authority = c.authority;
      // The set's sign-in is in the keychain; "Sign in again" replaces it.
      this.savedConnection = c;
      this.signedIn = { account: c.account, displayName: c.account ?? c.tenantId };
      this.allUsers = form.mailboxes.allUsers;
      this.shared = form.mailboxes.shared;
      this.users = [...form.mailboxes.users];
      this.filter = form.mailboxes.filter;
      this.categories = form.categories.filter(isCategoryName);
      const marks: Record<string, FolderMark> = {};
      for (const p of form.folders.include) marks[p] = 'include';
      for (const p of form.folders.exclude) marks[p] = 'exclude';
      this.folderMarks = marks;
      this.repository = form.repository;
      this.runOn = form.runOn;
      this.schedule = scheduleChoice(form.schedule);
      this.retentionPreset = presetOf(form.retention);
      this.retention = form.retention ? fieldsOf(form.retention) : presetFields('all');
      this.mailboxCategories = form.mailboxCategories ?? null;
      this.reached = STEPS.length - 1;
      this.signedInWith = this.signinKey();
      this.needsCheck = false;
    } else if (options.demo) {
      // On the demo tenant every sign-in method starts from the demo's app.
      this.tenantId = options.demo.tenantId;
      this.clientId = options.demo.clientId;
      this.graphUrl = options.demo.graphUrl;
      this.authority = options.demo.authority;
    }
  }

  get index(): number {
    return STEPS.indexOf(this.step);
  }

  /** The connection the chosen sign-in makes (account from the sign-in for delegated ones). */
  connection(): SetConnection {
    const delegated = this.method !== 'app';
    return {
      tenantId: this.tenantId.trim(),
      clientId: this.clientId.trim(),
      auth: delegated ? 'delegated' : this.appAuth,
      certificate: !delegated && this.appAuth === 'certificate' ? (this.savedConnection?.certificate ?? null) : null,
      account: delegated ? (this.signedIn?.account ?? null) : null,
      graphUrl: this.graphUrl.trim(),
      authority: this.authority.trim(),
    };
  }

  /** Identity of the sign-in inputs (without the account the sign-in adds). */
  signinKey(): string {
    const c = this.connection();
    return JSON.stringify({ ...c, account: null });
  }

  /** Marks the wizard signed in with the current inputs. */
  setSignedIn(who: SignedIn): void {
    this.signedIn = who;
    this.signedInWith = this.signinKey();
    this.report = null;
    this.needsCheck = true;
    this.directory = null;
  }

  get isSignedIn(): boolean {
    return !!this.signedIn && this.signedInWith === this.signinKey();
  }

  useDemo(): void {
    const d = this.demo;
    if (!d) return;
    this.method = 'app';
    this.appAuth = 'client-secret';
    this.tenantId = d.tenantId;
    this.clientId = d.clientId;
    this.graphUrl = d.graphUrl;
    this.authority = d.authority;
  }

  folderFilter(): FolderFilter {
    const entries = Object.entries(this.folderMarks).sort(([a], [b]) => a.localeCompare(b));
    return {
      include: entries.filter(([, m]) => m === 'include').map(([p]) => p),
      exclude: entries.filter(([, m]) => m === 'exclude').map(([p]) => p),
    };
  }

  scheduleText(): string {
    return scheduleText(this.schedule);
  }

  retentionResult() {
    return retentionFrom(this.retentionPreset, this.retention);
  }

  form(): SetForm {
    return {
      name: this.name.trim(),
      runOn: this.runOn,
      repository: this.repository.trim(),
      schedule: this.scheduleText(),
      connection: this.connection(),
      mailboxes: { allUsers: this.allUsers, users: [...this.users], filter: this.filter, shared: this.shared },
      categories: CATEGORY_NAMES.filter((c) => this.categories.includes(c)),
      folders: this.folderFilter(),
      retention: this.retentionResult().policy,
      mailboxCategories: this.mailboxCategories,
    };
  }

  /** Why `step` cannot be left yet, or null when it can. */
  blocker(step: Step, existingNames: string[] = []): string | null {
    const w = t.sets.wizard;
    switch (step) {
      case 'name': {
        const name = this.name.trim();
        if (name === '') return w.errNameEmpty;
        if (name !== this.name) return w.errNameSpaces;
        if ([...name].length > 100) return w.errNameLong;
        if (!this.editing && existingNames.some((n) => n.toLowerCase() === name.toLowerCase())) return w.errNameTaken(name);
        return null;
      }
      case 'signin':
        if (this.tenantId.trim() === '' || this.clientId.trim() === '') return w.errConnection;
        return this.isSignedIn ? null : w.errSignIn;
      case 'permissions':
        return this.report || !this.needsCheck ? null : w.errCheck;
      case 'mailboxes':
        if (!this.allUsers && !this.shared && this.users.length === 0 && !this.filter) return w.errNoMailbox;
        if (this.categories.length === 0) return w.errNoCategory;
        return null;
      case 'destination':
        return this.repository.trim() === '' ? w.errRepository : null;
      case 'schedule': {
        const text = this.scheduleText();
        if (this.schedule.kind === 'weekly' && this.schedule.days.length === 0) return w.errNoDay;
        return text === '' ? w.errScheduleEmpty : scheduleError(text);
      }
      case 'retention': {
        const { errors } = this.retentionResult();
        return Object.values(errors)[0] ?? null;
      }
      case 'summary':
        return null;
    }
  }

  go(step: Step): void {
    this.step = step;
    this.reached = Math.max(this.reached, STEPS.indexOf(step));
  }
}
