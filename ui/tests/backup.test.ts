import { describe, expect, it, vi } from 'vitest';
import { fireEvent, waitFor } from '@testing-library/svelte';
import { MockBackend } from '../src/lib/backend/mock';
import type { Progress } from '../src/lib/backend/types';
import { formatBytes } from '../src/lib/format';
import { $, $$, deferred, renderApp } from './helpers';

describe('backup', () => {
  it('shows speed, time left and a throttling note while Exchange makes requests wait', async () => {
    const gate = deferred();
    let paused: Progress | null = null;
    const backend = new MockBackend({
      open: true,
      onStep: async (p) => {
        if (p.throttledNow && p.throttledNow > 0 && !paused) {
          paused = p;
          await gate.promise;
        }
      },
    });
    const { container } = await renderApp(backend, 'snapshots');
    await waitFor(() => expect($$(container, '.snapshot-row')).toHaveLength(3));
    await fireEvent.click($(container, '#backup-now'));
    await waitFor(() => expect(paused).not.toBeNull());
    await waitFor(() => expect(container.querySelector('.throttled')).not.toBeNull());
    expect($(container, '.throttled').textContent).toContain('Exchange Online is throttling: 1 request waits');
    expect($(container, '#backup-status').textContent).toContain('throttling');
    if (paused!.itemsPerSecond) {
      expect($(container, '.rate').textContent).toBe(`${paused!.itemsPerSecond.toFixed(1)} items/s`);
    }
    gate.resolve();
    await waitFor(() => expect(container.querySelector('#backup-report')).not.toBeNull());
    expect(container.querySelector('.throttled')).toBeNull();
  });

  it('updates the progress bar while running, then shows the report and refreshes the list', async () => {
    // Pause the fake backup at its first "items" progress message.
    const gate = deferred();
    let paused: Progress | null = null;
    const backend = new MockBackend({
      open: true,
      onStep: async (p) => {
        if (p.phase === 'items' && !paused) {
          paused = p;
          await gate.promise;
        }
      },
    });
    const backupRun = vi.spyOn(backend, 'backupRun');
    const { container } = await renderApp(backend, 'snapshots');
    await waitFor(() => expect($$(container, '.snapshot-row')).toHaveLength(3));
    expect(container.querySelector('#backup-progress')).toBeNull();

    const button = $(container, '#backup-now') as HTMLButtonElement;
    expect(button.disabled).toBe(false);
    await fireEvent.click(button);
    await waitFor(() => expect(paused).not.toBeNull());
    const p = paused!;

    await waitFor(() => {
      const bar = $(container, '#backup-progress') as HTMLProgressElement;
      expect(bar.getAttribute('max')).toBe(String(p.itemsTotal));
      expect(bar.getAttribute('value')).toBe(String(p.itemsDone));
    });
    expect(p.itemsDone).toBeGreaterThan(0);
    expect(p.itemsDone).toBeLessThan(p.itemsTotal);
    expect(button.disabled).toBe(true);
    // A second click while running does not start another backup.
    await fireEvent.click(button);
    expect(backupRun).toHaveBeenCalledTimes(1);

    const running = $(container, '.backup-running').textContent ?? '';
    expect(running).toContain('Backing up messages');
    expect(running).toContain(`${p.mailbox} / ${p.folder}`);
    expect(running).toContain(`${p.itemsDone} / ${p.itemsTotal}`);
    expect(running).toContain(formatBytes(p.bytesDone));
    const status = $(container, '#backup-status');
    expect(status.getAttribute('aria-live')).toBe('polite');
    expect(status.textContent).toContain(`${p.itemsDone} of ${p.itemsTotal} items`);

    gate.resolve();
    await waitFor(() => expect(container.querySelector('#backup-report')).not.toBeNull());
    const report = await backupRun.mock.results[0].value;
    const card = $(container, '#backup-report');
    expect(card.textContent).toContain(report.snapshotId.slice(0, 8));
    expect($(card, '[data-stat="items"]').textContent).toBe(String(report.items));
    expect($(card, '[data-stat="items-fetched"]').textContent).toBe(String(report.itemsFetched));
    expect($(card, '[data-stat="bytes-added"]').textContent).toBe(formatBytes(report.bytesAdded));
    expect(report.failed).toHaveLength(1);
    const failed = $$(card, '.failed-item');
    expect(failed).toHaveLength(1);
    expect(failed[0].textContent).toContain(report.failed[0].reason);
    expect(failed[0].textContent).toContain(report.failed[0].itemId);
    expect(card.textContent).toContain('1 item could not be backed up');

    expect(container.querySelector('#backup-progress')).toBeNull();
    expect(button.disabled).toBe(false);
    // The list was reloaded: the new snapshot is the first row.
    await waitFor(() => expect($$(container, '.snapshot-row')).toHaveLength(4));
    expect($$(container, '.snapshot-row')[0].dataset.snapshotId).toBe(report.snapshotId);

    // The report links to the new snapshot.
    await fireEvent.click([...card.querySelectorAll('button')].find((b) => b.textContent?.includes('Browse'))!);
    await waitFor(() => expect(container.querySelector('#browser')).not.toBeNull());
    expect($(container, '#browser').textContent).toContain(report.snapshotId.slice(0, 8));
  });

  it('shows an indeterminate bar until the total is known', async () => {
    const gate = deferred();
    const backend = new MockBackend({
      open: true,
      onStep: (p) => (p.phase === 'listing' ? gate.promise : undefined),
    });
    const { container } = await renderApp(backend, 'snapshots');
    await waitFor(() => expect(container.querySelector('#backup-now')).not.toBeNull());
    await fireEvent.click($(container, '#backup-now'));
    await waitFor(() => expect($(container, '.backup-running').textContent).toContain('Listing mailboxes'));
    expect($(container, '#backup-progress').hasAttribute('value')).toBe(false);
    gate.resolve();
    await waitFor(() => expect(container.querySelector('#backup-report')).not.toBeNull());
  });

  it('shows a failed backup in the error banner and re-enables the button', async () => {
    const backend = new MockBackend({ open: true });
    vi.spyOn(backend, 'backupRun').mockRejectedValue({ code: 'graph', message: 'Graph is unreachable' });
    const { container } = await renderApp(backend, 'snapshots');
    await waitFor(() => expect(container.querySelector('#backup-now')).not.toBeNull());
    await fireEvent.click($(container, '#backup-now'));
    await waitFor(() => expect(container.querySelector('#error')).not.toBeNull());
    expect($(container, '#error').textContent).toContain('Graph is unreachable');
    expect($(container, '#error .error-code').textContent).toBe('graph');
    expect(($(container, '#backup-now') as HTMLButtonElement).disabled).toBe(false);
    expect(container.querySelector('#backup-report')).toBeNull();
    expect(container.querySelector('#backup-progress')).toBeNull();
  });
});
