import type { Backend } from '../backend';
import type { BackupReport, Progress } from '../backend/types';
import type { ErrorSink } from '../components/errors';

/**
 * State of the "Back up now" action. Lives as long as the main screen, so a
 * backup keeps reporting progress while the user browses a snapshot.
 */
export class BackupController {
  running = $state(false);
  progress = $state<Progress | null>(null);
  report = $state<BackupReport | null>(null);
  #run = 0;

  constructor(
    private readonly backend: Backend,
    private readonly errors: ErrorSink,
    private readonly onFinished: (report: BackupReport) => void | Promise<void>,
  ) {}

  async run(): Promise<void> {
    if (this.running) return;
    const mine = ++this.#run;
    this.running = true;
    this.report = null;
    this.progress = null;
    this.errors.clear();
    try {
      const report = await this.backend.backupRun((progress) => {
        // Channel messages can arrive after the command resolved: ignore those.
        if (mine === this.#run && this.running) this.progress = progress;
      });
      this.report = report;
      this.running = false;
      await this.onFinished(report);
    } catch (error) {
      this.errors.show(error);
    } finally {
      this.running = false;
      this.progress = null;
    }
  }

  dismissReport(): void {
    this.report = null;
  }
}
