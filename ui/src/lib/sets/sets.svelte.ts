import type { Backend } from '../backend';
import { toApiError } from '../backend/errors';
import type { ApiError, Progress, SetOverview, SetRunReport } from '../backend/types';
import type { ErrorSink } from '../components/errors';
import type { Wizard } from './wizard.svelte';

/** What a run did in one mailbox so far (attributed from the progress messages). */
export type MailboxProgress = { mailbox: string; folder: string | null; items: number; bytes: number; done: boolean };

/** One run of a set started from this window: progress while it runs, then the report. */
export class SetRun {
  running = $state(false);
  stopping = $state(false);
  progress = $state<Progress | null>(null);
  mailboxes = $state<MailboxProgress[]>([]);
  report = $state<SetRunReport | null>(null);
  /** Set when the run was stopped (`cancelled`) or failed. */
  outcome = $state<'stopped' | 'failed' | null>(null);
  error = $state<ApiError | null>(null);

  constructor(readonly name: string) {}

  /** Adds a progress message: the items and bytes since the last one go to its mailbox. */
  take(p: Progress): void {
    const last = this.progress;
    const items = Math.max(0, p.itemsDone - (last?.itemsDone ?? 0));
    const bytes = Math.max(0, p.bytesDone - (last?.bytesDone ?? 0));
    this.progress = p;
    if (!p.mailbox) return;
    const rows = this.mailboxes;
    let row = rows.find((r) => r.mailbox === p.mailbox);
    if (!row) {
      for (const r of rows) r.done = true;
      row = { mailbox: p.mailbox, folder: null, items: 0, bytes: 0, done: false };
      rows.push(row);
      row = rows[rows.length - 1];
    }
    row.folder = p.folder;
    row.items += items;
    row.bytes += bytes;
  }
}

const key = (name: string) => name.toLowerCase();

/**
 * The backup sets of the dashboard and the runs started here. Lives with the repository
 * session (not a screen), so a running set keeps reporting while the user is elsewhere.
 */
export class SetsStore {
  list = $state<SetOverview[] | null>(null);
  loading = $state(false);
  /** Runs started in this window, by set name (lower case); the last one of each set stays for its report. */
  runs = $state<Record<string, SetRun>>({});
  /** The wizard in progress (kept when the user visits another screen). */
  wizard = $state<Wizard | null>(null);
  #refreshing = 0;

  constructor(
    private readonly backend: Backend,
    private readonly errors: ErrorSink,
    private readonly onSnapshot: () => void | Promise<void>,
  ) {}

  /** Sets that run now (started here or elsewhere). */
  get running(): SetRun[] {
    return Object.values(this.runs).filter((r) => r.running);
  }

  runOf(name: string): SetRun | undefined {
    return this.runs[key(name)];
  }

  async refresh(): Promise<void> {
    const mine = ++this.#refreshing;
    this.loading = true;
    try {
      const list = await this.backend.setsList();
      if (mine === this.#refreshing) this.list = list;
    } catch (error) {
      this.errors.show(error);
    } finally {
      if (mine === this.#refreshing) this.loading = false;
    }
  }

  /** Backs `name` up now; resolves when the run ends (its outcome stays in `runOf(name)`). */
  async run(name: string): Promise<void> {
    if (this.runOf(name)?.running) return;
    const run = new SetRun(name);
    run.running = true;
    this.runs = { ...this.runs, [key(name)]: run };
    this.errors.clear();
    void this.refresh();
    try {
      run.report = await this.backend.setRun(name, (p) => {
        // Channel messages may arrive after the command resolved: ignore those.
        if (run.running) run.take(p);
      });
      run.running = false;
      await this.onSnapshot();
    } catch (e) {
      const error = toApiError(e);
      run.error = error;
      if (error.code === 'cancelled') run.outcome = 'stopped';
      else {
        run.outcome = 'failed';
        this.errors.show(error);
      }
    } finally {
      run.running = false;
      run.stopping = false;
      await this.refresh();
    }
  }

  async stop(name: string): Promise<void> {
    const run = this.runOf(name);
    if (run) run.stopping = true;
    try {
      await this.backend.setStop(name);
    } catch (error) {
      if (run) run.stopping = false;
      this.errors.show(error);
    }
  }

  /** Removes a set; false when the backend refused (the error is shown). */
  async remove(name: string): Promise<boolean> {
    try {
      await this.backend.setRemove(name);
      const { [key(name)]: _gone, ...rest } = this.runs;
      this.runs = rest;
      await this.refresh();
      return true;
    } catch (error) {
      this.errors.show(error);
      return false;
    }
  }

  /** Closes the report (or the stopped / failed note) of a set's last run here. */
  dismiss(name: string): void {
    const run = this.runOf(name);
    if (!run || run.running) return;
    const { [key(name)]: _gone, ...rest } = this.runs;
    this.runs = rest;
  }
}
