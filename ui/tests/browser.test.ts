import { describe, expect, it, vi } from 'vitest';
import { fireEvent, waitFor } from '@testing-library/svelte';
import { MockBackend } from '../src/lib/backend/mock';
import { formatDateTime } from '../src/lib/format';
import { $, $$, renderApp } from './helpers';

async function openNewestSnapshot(backend: MockBackend) {
  const result = await renderApp(backend, 'snapshots');
  const { container } = result;
  await waitFor(() => expect($$(container, '.snapshot-row').length).toBeGreaterThan(0));
  await fireEvent.click($$(container, '.snapshot-row')[0]);
  await waitFor(() => expect($$(container, '#browser .folder-row').length).toBeGreaterThan(0));
  return result;
}

const crumbs = (c: HTMLElement) => $$(c, '#breadcrumb li').map((li) => li.textContent?.trim());
const folderPaths = (c: HTMLElement) => $$(c, '.folder-row').map((r) => r.dataset.path);

describe('snapshot browser', () => {
  it('lists mailboxes, browses into a folder and shows its items', async () => {
    const backend = new MockBackend({ open: true });
    const browse = vi.spyOn(backend, 'snapshotBrowse');
    const newest = (await backend.snapshotsList()).at(-1)!;
    const { container } = await openNewestSnapshot(backend);

    expect(browse).toHaveBeenLastCalledWith(newest.id, '');
    expect(folderPaths(container)).toEqual(['/alice@contoso.example', '/bob@contoso.example']);
    expect(crumbs(container)).toEqual([`Snapshot ${newest.shortId}`]);

    await fireEvent.click($(container, '.folder-row[data-path="/alice@contoso.example"]'));
    await waitFor(() => expect(folderPaths(container)).toContain('/alice@contoso.example/Inbox'));
    expect(browse).toHaveBeenLastCalledWith(newest.id, '/alice@contoso.example');
    expect(container.querySelector('.item-row')).toBeNull();

    await fireEvent.click($(container, '.folder-row[data-path="/alice@contoso.example/Inbox"]'));
    await waitFor(() => expect($$(container, '.item-row').length).toBeGreaterThan(0));
    expect(browse).toHaveBeenLastCalledWith(newest.id, '/alice@contoso.example/Inbox');
    expect(crumbs(container)).toEqual([`Snapshot ${newest.shortId}`, 'alice@contoso.example', 'Inbox']);
    expect(folderPaths(container)).toEqual([
      '/alice@contoso.example/Inbox/Projects',
      '/alice@contoso.example/Inbox/Receipts',
    ]);

    const expected = await backend.snapshotBrowse(newest.id, '/alice@contoso.example/Inbox');
    const rows = $$(container, '.item-row');
    expect(rows.map((r) => r.dataset.itemId)).toEqual(expected.items.map((i) => i.id));
    expected.items.forEach((item, i) => {
      const row = rows[i];
      expect(row.textContent).toContain(item.subject);
      expect(row.textContent).toContain(item.from);
      expect(row.textContent).toContain(formatDateTime(item.receivedDateTime));
      expect(row.querySelector('[aria-label="Unread"]') !== null).toBe(!item.isRead);
      expect(row.querySelector('[aria-label="Has attachments"]') !== null).toBe(item.hasAttachments);
    });
    // The demo data has both kinds of markers.
    expect(expected.items.some((i) => !i.isRead) && expected.items.some((i) => i.hasAttachments)).toBe(true);
  });

  it('navigates back up with the breadcrumb', async () => {
    const backend = new MockBackend({ open: true });
    const { container } = await openNewestSnapshot(backend);
    await fireEvent.click($(container, '.folder-row[data-path="/bob@contoso.example"]'));
    await waitFor(() => expect(folderPaths(container)).toContain('/bob@contoso.example/Inbox'));
    await fireEvent.click($(container, '.folder-row[data-path="/bob@contoso.example/Inbox"]'));
    await waitFor(() => expect($$(container, '.item-row').length).toBeGreaterThan(0));

    // The current crumb is not a link; its ancestors are.
    expect($$(container, '#breadcrumb button')).toHaveLength(2);
    expect($(container, '#breadcrumb [aria-current="page"]').textContent?.trim()).toBe('Inbox');

    await fireEvent.click($(container, '#breadcrumb button[data-path="/bob@contoso.example"]'));
    await waitFor(() => expect(container.querySelector('.item-row')).toBeNull());
    expect(folderPaths(container)).toEqual(['/bob@contoso.example/Inbox', '/bob@contoso.example/Sent Items']);

    await fireEvent.click($(container, '#breadcrumb button[data-path=""]'));
    await waitFor(() => expect(folderPaths(container)).toEqual(['/alice@contoso.example', '/bob@contoso.example']));
    expect(crumbs(container)).toHaveLength(1);
  });

  it('shows a friendly empty state for an empty folder', async () => {
    const { container } = await openNewestSnapshot(new MockBackend({ open: true }));
    await fireEvent.click($(container, '.folder-row[data-path="/alice@contoso.example"]'));
    await waitFor(() => expect(folderPaths(container)).toContain('/alice@contoso.example/Archive'));
    expect(container.querySelector('.empty-state')).toBeNull();
    await fireEvent.click($(container, '.folder-row[data-path="/alice@contoso.example/Archive"]'));
    await waitFor(() => expect(container.querySelector('.empty-state')).not.toBeNull());
    expect($(container, '.empty-state').textContent).toContain('This folder is empty');
    expect(container.querySelector('.folder-row')).toBeNull();
    expect(container.querySelector('.item-row')).toBeNull();
  });

  it('keeps the current folder and shows the error when browsing fails', async () => {
    const backend = new MockBackend({ open: true });
    const { container } = await openNewestSnapshot(backend);
    vi.spyOn(backend, 'snapshotBrowse').mockRejectedValueOnce({ code: 'not_found', message: 'Folder vanished' });
    await fireEvent.click($(container, '.folder-row[data-path="/alice@contoso.example"]'));
    await waitFor(() => expect(container.querySelector('#error')).not.toBeNull());
    expect($(container, '#error').textContent).toContain('Folder vanished');
    expect(folderPaths(container)).toEqual(['/alice@contoso.example', '/bob@contoso.example']);
  });
});
