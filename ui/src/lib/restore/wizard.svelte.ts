// State of the restore / export wizard: what → target → conflicts (restores only) → review
// (a dry run) → result (the run with live progress, then the report). One request per
// snapshot of the selection; `setName: null` lets the backend use the set that made it.
import type { Backend } from '../backend';
import { toApiError } from '../backend/errors';
import type {
  ApiError,
  ExportReport,
  ExportRequest,
  MailFormat,
  OnConflict,
  PlannedWrite,
  Progress,
  RestoreReport,
  RestoreRequest,
} from '../backend/types';
import { groupBySnapshot, type RestoreItem, type RestoreSelection } from './selection';

export type TargetKind = 'original' | 'folder' | 'mailbox' | 'export';
export type StepId = 'what' | 'target' | 'conflict' | 'review' | 'result';
export const ON_CONFLICT: readonly OnConflict[] = ['skip', 'overwrite', 'keep-both'];

const pad = (n: number) => String(n).padStart(2, '0');

/** `Restored 2026-11-27 14:03` in local time, as the engine names its default folder. */
export function defaultFolderName(now: Date): string {
  return `Restored ${now.getFullYear()}-${pad(now.getMonth() + 1)}-${pad(now.getDate())} ${pad(now.getHours())}:${pad(now.getMinutes())}`;
}

/** `qcbackup-export-2026-11-27-1403.zip` (no colon: Windows file names cannot hold one). */
export function defaultZipName(now: Date): string {
  return `qcbackup-export-${now.getFullYear()}-${pad(now.getMonth() + 1)}-${pad(now.getDate())}-${pad(now.getHours())}${pad(now.getMinutes())}.zip`;
}

/** `folder` + `name` with the folder's own separator (a Windows path keeps its backslashes). */
export function joinPath(folder: string, name: string): string {
  const f = folder.trim();
  const sep = f.includes('\\') && !f.includes('/') ? '\\' : '/';
  return f.endsWith(sep) ? `${f}${name}` : `${f}${sep}${name}`;
}

export const MAILBOX_PATTERN = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

/** Dry-run writes of one mailbox counted by action and kind, e.g. create/message: 8. */
export function countPlanned(planned: readonly PlannedWrite[]): { action: string; kind: string; count: number }[] {
  const counts = new Map<string, { action: string; kind: string; count: number }>();
  for (const p of planned) {
    const key = `${p.action}\n${p.kind}`;
    const c = counts.get(key) ?? { action: p.action, kind: p.kind, count: 0 };
    c.count++;
    counts.set(key, c);
  }
  const order = ['create-folder', 'create', 'overwrite'];
  return [...counts.values()].sort((a, b) => order.indexOf(a.action) - order.indexOf(b.action) || a.kind.localeCompare(b.kind));
}

/** Reports of several requests merged per mailbox (a selection spanning snapshots). */
export function mergeReports(reports: readonly RestoreReport[]): RestoreReport[] {
  const by = new Map<string, RestoreReport>();
  for (const r of reports) {
    const key = `${r.mailbox}\n${r.targetFolder}`;
    const m = by.get(key);
    if (!m) {
      by.set(key, { ...r, skipped: [...r.skipped], failed: [...r.failed], planned: [...r.planned] });
      continue;
    }
    m.foldersCreated += r.foldersCreated;
    m.itemsRestored += r.itemsRestored;
    m.itemsOverwritten += r.itemsOverwritten;
    m.itemsSkipped += r.itemsSkipped;
    m.skipped.push(...r.skipped);
    m.failed.push(...r.failed);
    m.planned.push(...r.planned);
    m.durationMs += r.durationMs;
  }
  return [...by.values()];
}

export type WizardErrors = Partial<Record<'folderName' | 'mailbox' | 'exportFolder' | 'zipName', string>>;

export class RestoreWizard {
  readonly items: RestoreItem[];
  step = $state<StepId>('what');
  recursive = $state(true);
  target = $state<TargetKind>('original');
  folderName = $state('');
  mailbox = $state('');
  /** For another mailbox: into a new folder there instead of the same folder paths. */
  mailboxIntoFolder = $state(false);
  onConflict = $state<OnConflict>('skip');
  mailFormat = $state<MailFormat>('eml');
  eventFiles = $state(false);
  zip = $state(false);
  exportFolder = $state('');
  zipName = $state('');
  allowNonEmpty = $state(false);
  /** Shown after Next was pressed with bad input. */
  showErrors = $state(false);

  /** The dry run (review step). */
  planning = $state(false);
  plan = $state<RestoreReport[] | null>(null);
  exportPlan = $state<ExportReport[] | null>(null);
  /** The run (result step). */
  running = $state(false);
  cancelling = $state(false);
  progress = $state<Progress | null>(null);
  reports = $state<RestoreReport[] | null>(null);
  exportReports = $state<ExportReport[] | null>(null);
  /** The run or dry run failed (or was cancelled: code `cancelled`). */
  error = $state<ApiError | null>(null);
  #job = 0;

  constructor(
    private readonly backend: Backend,
    selection: RestoreSelection,
    now: Date = new Date(),
  ) {
    this.items = [...selection.items];
    this.folderName = defaultFolderName(now);
    this.zipName = defaultZipName(now);
    if (selection.mode === 'export') this.target = 'export';
  }

  get isExport(): boolean {
    return this.target === 'export';
  }

  /** Folders or mailboxes are selected, so "include subfolders" means something. */
  get hasFolders(): boolean {
    return this.items.some((i) => i.kind !== 'item');
  }

  /** A .zip file holds one mailbox, folder or message (the engine refuses more). */
  get canZip(): boolean {
    return this.items.length === 1;
  }

  get steps(): StepId[] {
    return this.isExport ? ['what', 'target', 'review', 'result'] : ['what', 'target', 'conflict', 'review', 'result'];
  }

  get stepIndex(): number {
    return this.steps.indexOf(this.step);
  }

  get errors(): WizardErrors {
    const e: WizardErrors = {};
    if (this.target === 'folder' || (this.target === 'mailbox' && this.mailboxIntoFolder)) {
      if (!this.folderName.trim()) e.folderName = 'required';
      else if (/[\\/]/.test(this.folderName)) e.folderName = 'slash';
    }
    if (this.target === 'mailbox' && !MAILBOX_PATTERN.test(this.mailbox.trim())) e.mailbox = 'address';
    if (this.target === 'export') {
      if (!this.exportFolder.trim()) e.exportFolder = 'required';
      if (this.zip && this.canZip && !/^[^\\/]+\.zip$/i.test(this.zipName.trim())) e.zipName = 'zip';
    }
    return e;
  }

  get canNext(): boolean {
    if (this.step === 'what') return this.items.length > 0;
    if (this.step === 'target') return Object.keys(this.errors).length === 0;
    return this.step === 'conflict';
  }

  /** Where an export writes: the folder, or with zip the .zip file in it. */
  get exportTarget(): string {
    return this.zip && this.canZip ? joinPath(this.exportFolder, this.zipName.trim()) : this.exportFolder.trim();
  }

  restoreRequests(dryRun: boolean): RestoreRequest[] {
    const intoFolder = this.target === 'folder' || (this.target === 'mailbox' && this.mailboxIntoFolder);
    return groupBySnapshot(this.items).map((g) => ({
      snapshotId: g.snapshotId,
      paths: g.paths,
      targetMailbox: this.target === 'mailbox' ? this.mailbox.trim() : null,
      target: intoFolder ? { kind: 'folder', name: this.folderName.trim() } : { kind: 'original' },
      recursive: this.recursive,
      onConflict: this.onConflict,
      dryRun,
      setName: null,
    }));
  }

  exportRequests(dryRun: boolean): ExportRequest[] {
    return groupBySnapshot(this.items).map((g, i) => ({
      snapshotId: g.snapshotId,
      paths: g.paths,
      recursive: this.recursive,
      mailFormat: this.mailFormat,
      eventFiles: this.eventFiles,
      target: this.exportTarget,
      zip: this.zip && this.canZip,
      dryRun,
      // Sent only when asked for (an optional field); a second snapshot writes beside the first.
      ...(this.allowNonEmpty || i > 0 ? { allowNonEmpty: true } : {}),
    }));
  }

  /** Moves on (validating the target); entering the review step starts the dry run. */
  next(): void {
    if (this.step === 'target' && !this.canNext) {
      this.showErrors = true;
      return;
    }
    if (!this.canNext) return;
    const steps = this.steps;
    this.step = steps[steps.indexOf(this.step) + 1];
    this.showErrors = false;
    if (this.step === 'review') void this.dryRun();
  }

  back(): void {
    if (this.running || this.planning) return;
    const i = this.stepIndex;
    if (i > 0) {
      this.step = this.steps[i - 1];
      this.error = null;
      if (this.step !== 'review') {
        this.plan = null;
        this.exportPlan = null;
      }
    }
  }

  /** Picks the export folder through the native dialog (null: the user cancelled). */
  async pickFolder(title: string): Promise<void> {
    try {
      const folder = await this.backend.pickFolder(title);
      if (folder) this.exportFolder = folder;
    } catch (e) {
      this.error = toApiError(e);
    }
  }

  async dryRun(): Promise<void> {
    const mine = ++this.#job;
    this.planning = true;
    this.error = null;
    this.plan = null;
    this.exportPlan = null;
    try {
      if (this.isExport) {
        const out: ExportReport[] = [];
        for (const r of this.exportRequests(true)) out.push(...(await this.backend.exportRun(r, () => {})));
        if (mine === this.#job) this.exportPlan = out;
      } else {
        const out: RestoreReport[] = [];
        for (const r of this.restoreRequests(true)) out.push(...(await this.backend.restoreRun(r, () => {})));
        if (mine === this.#job) this.plan = mergeReports(out);
      }
    } catch (e) {
      if (mine === this.#job) this.error = toApiError(e);
    } finally {
      if (mine === this.#job) this.planning = false;
    }
  }

  /** The real run: each request in turn, progress as it comes; a failure or cancel stops there. */
  async run(): Promise<void> {
    if (this.running || this.step !== 'review' || this.planning) return;
    const mine = ++this.#job;
    this.step = 'result';
    this.running = true;
    this.cancelling = false;
    this.error = null;
    this.progress = null;
    const restored: RestoreReport[] = [];
    const exported: ExportReport[] = [];
    const onProgress = (p: Progress) => {
      if (mine === this.#job && this.running) this.progress = p;
    };
    try {
      if (this.isExport) {
        for (const r of this.exportRequests(false)) exported.push(...(await this.backend.exportRun(r, onProgress)));
      } else {
        for (const r of this.restoreRequests(false)) restored.push(...(await this.backend.restoreRun(r, onProgress)));
      }
    } catch (e) {
      this.error = toApiError(e);
    } finally {
      // What finished before a failure or cancel is still reported.
      if (this.isExport) this.exportReports = exported;
      else this.reports = mergeReports(restored);
      this.running = false;
      this.cancelling = false;
    }
  }

  async cancel(): Promise<void> {
    if (!this.running || this.cancelling) return;
    this.cancelling = true;
    try {
      await this.backend.jobCancel();
    } catch (e) {
      this.cancelling = false;
      this.error = toApiError(e);
    }
  }

  get cancelled(): boolean {
    return this.error?.code === 'cancelled';
  }
}
