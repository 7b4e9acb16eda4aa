import { describe, expect, it, vi } from 'vitest';
import { fireEvent, waitFor } from '@testing-library/svelte';
import { MockBackend, fakeId } from '../src/lib/backend/mock';
import { formatBytes, formatDateTime } from '../src/lib/format';
import { $, $$, renderApp } from './helpers';

const TIMES = ['2024-11-02T09:00:00Z', '2025-02-14T18:45:00Z', '2024-12-24T06:15:00Z'];

describe('snapshot list', () => {
  it('goes straight to the dashboard when app_info reports an open repository; snapshots are one click away', async () => {
    const backend = new MockBackend({ open: true });
    const { container } = await renderApp(backend);
    await waitFor(() => expect(container.querySelector('#dashboard')).not.toBeNull());
    expect($(container, '#nav-dashboard').getAttribute('aria-current')).toBe('page');
    expect(container.querySelector('#repo-form')).toBeNull();
    await fireEvent.click($(container, '#nav-snapshots'));
    await waitFor(() => expect(container.querySelector('#snapshot-list')).not.toBeNull());
    const repoInfo = $(container, 'header #repo-info');
    expect(repoInfo.textContent).toContain(backend.defaultRepoPath);
    expect(repoInfo.textContent).toContain(fakeId(`repo:${backend.defaultRepoPath}`).slice(0, 8));
  });

  it('renders one row per snapshot, newest first, with its details', async () => {
    const backend = new MockBackend({ open: true, snapshotTimes: TIMES });
    const listed = await backend.snapshotsList();
    const { container } = await renderApp(backend, 'snapshots');
    await waitFor(() => expect($$(container, '#snapshot-list .snapshot-row')).toHaveLength(3));

    const rows = $$(container, '#snapshot-list .snapshot-row');
    const byTime = (t: string) => listed.find((s) => s.time === t)!;
    expect(rows.map((r) => r.dataset.snapshotId)).toEqual([
      byTime('2025-02-14T18:45:00Z').id,
      byTime('2024-12-24T06:15:00Z').id,
      byTime('2024-11-02T09:00:00Z').id,
    ]);

    const newest = byTime('2025-02-14T18:45:00Z');
    const text = rows[0].textContent ?? '';
    expect(text).toContain(newest.shortId);
    expect(text).toContain(formatDateTime(newest.time));
    expect(text).toContain(newest.hostname);
    expect(text).toContain('alice@contoso.example');
    expect(text).toContain('bob@contoso.example');
    expect(text).toContain(String(newest.itemCount));
    expect(text).toContain(formatBytes(newest.sizeBytes));
    expect(formatBytes(newest.sizeBytes)).toMatch(/ (KiB|MiB)$/);
    expect($(rows[0], 'time').getAttribute('datetime')).toBe(newest.time);
  });

  it('shows an empty state when the repository has no snapshots', async () => {
    const { container } = await renderApp(new MockBackend({ open: true, snapshotTimes: [] }), 'snapshots');
    await waitFor(() => expect(container.textContent).toContain('No snapshots yet'));
    expect(container.querySelector('.snapshot-row')).toBeNull();
  });

  it('shows the error banner when the list cannot be loaded', async () => {
    const backend = new MockBackend({ open: true });
    vi.spyOn(backend, 'snapshotsList').mockRejectedValue({ code: 'repository', message: 'Index is corrupt' });
    const { container } = await renderApp(backend, 'snapshots');
    await waitFor(() => expect(container.querySelector('#error')).not.toBeNull());
    expect($(container, '#error').textContent).toContain('Index is corrupt');
    expect($(container, '#error .error-code').textContent).toBe('repository');
  });

  it('opens the snapshot browser when a row is clicked, and comes back', async () => {
    const { container } = await renderApp(new MockBackend({ open: true, snapshotTimes: TIMES }), 'snapshots');
    await waitFor(() => expect($$(container, '.snapshot-row')).toHaveLength(3));
    const row = $$(container, '.snapshot-row')[1];
    await fireEvent.click(row);
    await waitFor(() => expect(container.querySelector('#browser')).not.toBeNull());
    expect(container.querySelector('#snapshot-list')).toBeNull();
    expect($(container, '#browser').textContent).toContain(row.dataset.snapshotId!.slice(0, 8));
    await fireEvent.click($(container, '#browser-back'));
    expect(container.querySelector('#browser')).toBeNull();
    await waitFor(() => expect(container.querySelector('#snapshot-list')).not.toBeNull());
  });
});
