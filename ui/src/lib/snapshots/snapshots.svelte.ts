import type { Backend } from '../backend';
import type { Snapshot } from '../backend/types';
import type { ErrorSink } from '../components/errors';

/** A place the snapshots screen should open (set by other screens, e.g. search). */
export type Reveal = { snapshotId: string; folderPath: string; itemId: string | null };

/** The open repository's snapshot list (oldest first, as the backend returns it). */
export class SnapshotStore {
  list = $state<Snapshot[] | null>(null);
  loading = $state(false);
  /** Taken (and cleared) by the snapshots screen when it opens: "Show in snapshot". */
  reveal = $state<Reveal | null>(null);
  #request = 0;

  constructor(
    private readonly backend: Backend,
    private readonly errors: ErrorSink,
    private readonly onCount?: (count: number) => void,
  ) {}

  async refresh(): Promise<void> {
    const mine = ++this.#request;
    this.loading = true;
    try {
      const list = await this.backend.snapshotsList();
      if (mine !== this.#request) return;
      this.list = list;
      this.onCount?.(list.length);
    } catch (error) {
      if (mine === this.#request) this.errors.show(error);
    } finally {
      if (mine === this.#request) this.loading = false;
    }
  }

  /** Asks the snapshots screen to open `folderPath` of a snapshot (and select `itemId`). */
  showInBrowser(reveal: Reveal): void {
    this.reveal = reveal;
  }

  /** The pending reveal, cleared. */
  takeReveal(): Reveal | null {
    const r = this.reveal;
    this.reveal = null;
    return r;
  }

  find(id: string): Snapshot | undefined {
    return this.list?.find((s) => s.id === id);
  }
}
