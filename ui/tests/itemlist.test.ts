import { describe, expect, it, vi } from 'vitest';
import { fireEvent, render, waitFor } from '@testing-library/svelte';
import { LARGE_FOLDER, MockBackend, TEXT_ITEM_ID } from '../src/lib/backend/mock';
import type { ItemEntry } from '../src/lib/backend/types';
import ItemList from '../src/lib/snapshots/ItemList.svelte';
import { $, $$, renderApp } from './helpers';

const items: ItemEntry[] = Array.from({ length: 100_000 }, (_, i) => ({
  id: `id-${i}`,
  subject: `Subject ${String(i).padStart(6, '0')}`,
  from: `Sender ${i % 10}`,
  receivedDateTime: new Date(Date.UTC(2025, 0, 1) + i * 60_000).toISOString(),
  size: (i * 7919) % 100_000,
  isRead: i % 2 === 0,
  hasAttachments: i % 3 === 0,
}));

const options = (c: HTMLElement) => $$(c, '#item-list [role="option"]');
const activeOption = (c: HTMLElement) => {
  const id = $(c, '#item-list').getAttribute('aria-activedescendant');
  return id ? c.querySelector<HTMLElement>(`#${id}`) : null;
};

describe('virtualised message list', () => {
  it('renders only a window of 100,000 items, newest first, and announces the size', () => {
    const { container } = render(ItemList, { props: { items, onSelect: () => {} } });
    const rows = options(container);
    expect(rows.length).toBeGreaterThan(10);
    expect(rows.length).toBeLessThan(40);
    expect(rows[0].getAttribute('aria-setsize')).toBe('100000');
    expect(rows[0].getAttribute('aria-posinset')).toBe('1');
    expect($(rows[0], '.item-row').dataset.itemId).toBe('id-99999');
    expect($(container, '#item-count').textContent).toContain('100,000 messages');
    expect($(container, '#item-list').getAttribute('role')).toBe('listbox');
  });

  it('moves the selection with the keyboard and keeps the selected row rendered', async () => {
    const onSelect = vi.fn();
    const { container } = render(ItemList, { props: { items, onSelect } });
    const list = $(container, '#item-list');
    await fireEvent.keyDown(list, { key: 'ArrowDown' });
    await fireEvent.keyDown(list, { key: 'ArrowDown' });
    expect(activeOption(container)?.getAttribute('aria-posinset')).toBe('2');
    expect(activeOption(container)?.getAttribute('aria-selected')).toBe('true');
    expect(onSelect).toHaveBeenLastCalledWith(items[99_998]);
    await fireEvent.keyDown(list, { key: 'End' });
    await waitFor(() => expect(activeOption(container)?.getAttribute('aria-posinset')).toBe('100000'));
    expect(onSelect).toHaveBeenLastCalledWith(items[0]);
    expect(options(container).length).toBeLessThan(40);
    await fireEvent.keyDown(list, { key: 'PageUp' });
    expect(Number(activeOption(container)?.getAttribute('aria-posinset'))).toBeLessThan(100_000);
    await fireEvent.keyDown(list, { key: 'Home' });
    await waitFor(() => expect(activeOption(container)?.getAttribute('aria-posinset')).toBe('1'));
    await fireEvent.keyDown(list, { key: 'ArrowUp' });
    expect(activeOption(container)?.getAttribute('aria-posinset')).toBe('1');
    onSelect.mockClear();
    await fireEvent.keyDown(list, { key: 'Enter' });
    expect(onSelect).toHaveBeenCalledWith(items[99_999]);
  });

  it('sorts with the sort buttons (second click reverses) and filters, clearing the selection', async () => {
    const onSelect = vi.fn();
    const { container } = render(ItemList, { props: { items, onSelect } });
    const first = () => $(options(container)[0], '.item-row').dataset.itemId;
    await fireEvent.click($(container, '.sort-button[data-sort="subject"]'));
    expect(first()).toBe('id-0');
    expect($(container, '.sort-button[data-sort="subject"]').getAttribute('aria-pressed')).toBe('true');
    expect($(container, '.sort-button[data-sort="date"]').getAttribute('aria-pressed')).toBe('false');
    await fireEvent.click($(container, '.sort-button[data-sort="subject"]'));
    expect(first()).toBe('id-99999');
    expect($(container, '#item-count').textContent).toContain('descending');
    await fireEvent.click($(container, '.sort-button[data-sort="size"]'));
    expect(first()).toBe(`id-${items.reduce((best, it, i) => (it.size > items[best].size ? i : best), 0)}`);

    await fireEvent.keyDown($(container, '#item-list'), { key: 'ArrowDown' });
    onSelect.mockClear();
    const filter = $(container, '#item-filter') as HTMLInputElement;
    await fireEvent.input(filter, { target: { value: 'subject 004242' } });
    expect(onSelect).toHaveBeenCalledWith(null);
    expect(options(container)).toHaveLength(1);
    expect($(container, '#item-count').textContent).toContain('1 of 100,000 messages');
    await fireEvent.input(filter, { target: { value: 'zzz' } });
    expect(container.querySelector('#item-list')).toBeNull();
    expect($(container, '.no-match').textContent).toContain('No message matches');
  });
});

describe('preview pane', () => {
  async function openInbox(backend: MockBackend, folder = 'Inbox') {
    const result = await renderApp(backend, 'snapshots');
    const { container } = result;
    await waitFor(() => expect($$(container, '.snapshot-row').length).toBeGreaterThan(0));
    await fireEvent.click($$(container, '.snapshot-row')[0]);
    await waitFor(() => expect(container.querySelector('.folder-row[data-path="/alice@contoso.example"]')).not.toBeNull());
    await fireEvent.click($(container, '.folder-row[data-path="/alice@contoso.example"]'));
    const path = `/alice@contoso.example/${folder}`;
    await waitFor(() => expect(container.querySelector(`.folder-row[data-path="${path}"]`)).not.toBeNull());
    await fireEvent.click($(container, `.folder-row[data-path="${path}"]`));
    await waitFor(() => expect(container.querySelector('.item-row')).not.toBeNull());
    return result;
  }

  it('asks itemPreview for the selected message and shows its headers, text and attachments', async () => {
    const backend = new MockBackend({ open: true });
    const itemPreview = vi.spyOn(backend, 'itemPreview');
    const { container } = await openInbox(backend);
    expect($(container, '#preview').textContent).toContain('Select a message');
    await fireEvent.click($(container, `.item-row[data-item-id="${TEXT_ITEM_ID}"]`));
    await waitFor(() => expect(container.querySelector('#preview-text')).not.toBeNull());
    const snapshot = (await backend.snapshotsList()).at(-1)!;
    expect(itemPreview).toHaveBeenCalledWith(snapshot.id, `/alice@contoso.example/Inbox/${TEXT_ITEM_ID}`);
    const preview = await itemPreview.mock.results[0].value;
    expect($(container, '#preview-subject').textContent).toBe(preview.subject);
    expect($(container, '#preview-from').textContent).toBe(preview.from);
    expect($(container, '#preview-to').textContent).toBe('alice@contoso.example');
    // Markup in a text body is text.
    expect($(container, '#preview-text').textContent).toContain('<b>not bold</b>');
    expect($(container, '#preview-text').querySelector('b')).toBeNull();
    expect($(container, '#preview-attachments').textContent).toContain('Report-2.pdf');
  });

  it('shows the error and no stale message when a preview fails', async () => {
    const backend = new MockBackend({ open: true });
    const { container } = await openInbox(backend);
    vi.spyOn(backend, 'itemPreview').mockRejectedValueOnce({ code: 'not_found', message: 'Item vanished' });
    await fireEvent.click($$(container, '.item-row')[0]);
    await waitFor(() => expect(container.querySelector('#error')).not.toBeNull());
    expect($(container, '#error').textContent).toContain('Item vanished');
    expect(container.querySelector('#preview-subject')).toBeNull();
  });

  it('browses a folder of 100,000 messages from the mock', async () => {
    const backend = new MockBackend({ open: true, largeFolderItems: 100_000 });
    const { container } = await openInbox(backend, LARGE_FOLDER);
    expect($(container, '#item-count').textContent).toContain('100,000 messages');
    expect(options(container).length).toBeLessThan(40);
  });
});
