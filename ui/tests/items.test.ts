import { describe, expect, it } from 'vitest';
import { itemPath, pathSegment } from '../src/lib/backend/paths';
import { DEFAULT_SETTINGS, type ItemEntry } from '../src/lib/backend/types';
import { filterItems, indexItems, sortItems } from '../src/lib/snapshots/items';
import { normalizeSettings } from '../src/lib/settings/normalize';
import { resolveTheme } from '../src/lib/settings/theme';

const item = (id: string, subject: string, from: string, day: number, size: number): ItemEntry => ({
  id,
  subject,
  from,
  receivedDateTime: `2025-01-${String(day).padStart(2, '0')}T10:00:00Z`,
  size,
  isRead: true,
  hasAttachments: false,
});

const ITEMS = [
  item('a', 'Budget approval', 'Lee Gu <lee@contoso.example>', 3, 500),
  item('b', 'agenda', 'Adele Vance <adele@contoso.example>', 5, 100),
  item('c', 'Zebra crossing', 'megan@contoso.example', 1, 900),
  item('d', 'Budget approval', 'Adele Vance <adele@contoso.example>', 5, 100),
];
const ids = (xs: { item: ItemEntry }[]) => xs.map((x) => x.item.id);

describe('message list sorting and filtering', () => {
  const indexed = indexItems(ITEMS);

  it('sorts by date, subject (case-insensitive), sender and size, both ways, with stable ties', () => {
    expect(ids(sortItems(indexed, 'date', 'desc'))).toEqual(['b', 'd', 'a', 'c']);
    expect(ids(sortItems(indexed, 'date', 'asc'))).toEqual(['c', 'a', 'b', 'd']);
    expect(ids(sortItems(indexed, 'subject', 'asc'))).toEqual(['b', 'd', 'a', 'c']);
    expect(ids(sortItems(indexed, 'subject', 'desc'))).toEqual(['c', 'd', 'a', 'b']);
    expect(ids(sortItems(indexed, 'from', 'asc'))).toEqual(['b', 'd', 'a', 'c']);
    expect(ids(sortItems(indexed, 'size', 'desc'))).toEqual(['c', 'a', 'b', 'd']);
    expect(ids(sortItems(indexed, 'size', 'asc'))).toEqual(['b', 'd', 'a', 'c']);
    // The input is not modified.
    expect(ids(indexed)).toEqual(['a', 'b', 'c', 'd']);
  });

  it('filters on every word of the query, in subject or sender', () => {
    expect(ids(filterItems(indexed, ''))).toEqual(['a', 'b', 'c', 'd']);
    expect(ids(filterItems(indexed, '  budget '))).toEqual(['a', 'd']);
    expect(ids(filterItems(indexed, 'budget adele'))).toEqual(['d']);
    expect(ids(filterItems(indexed, 'MEGAN'))).toEqual(['c']);
    expect(ids(filterItems(indexed, 'nothing'))).toEqual([]);
  });

  it('keeps up with 100,000 items', () => {
    const many = Array.from({ length: 100_000 }, (_, i) =>
      item(`m${i}`, `Subject ${(i * 7919) % 100_000}`, `Sender ${i % 97}`, 1 + (i % 28), i),
    );
    const t0 = performance.now();
    const idx = indexItems(many);
    const sorted = sortItems(idx, 'subject', 'asc');
    const filtered = filterItems(sorted, 'subject 4242');
    const ms = performance.now() - t0;
    expect(sorted).toHaveLength(100_000);
    expect(filtered.length).toBeGreaterThan(0);
    expect(ms).toBeLessThan(3_000);
  });
});

describe('snapshot paths', () => {
  it('escapes names like the engine (qcb_repo::join_path)', () => {
    expect(pathSegment('a/b%c')).toBe('a%2Fb%25c');
    expect(itemPath('/alice@contoso.example/Inbox', 'AAMk/x+y=')).toBe('/alice@contoso.example/Inbox/AAMk%2Fx+y=');
    expect(itemPath('/bob@x/', 'id')).toBe('/bob@x/id');
  });
});

describe('settings', () => {
  it('fills in defaults for missing or out-of-range values', () => {
    expect(normalizeSettings(null)).toEqual(DEFAULT_SETTINGS);
    expect(normalizeSettings({ theme: 'dark', concurrency: 8, logLevel: 'trace', notifyOnSuccess: true, closeToTray: false, startAtLogin: true })).toEqual({
      theme: 'dark',
      concurrency: 8,
      logLevel: 'trace',
      notifyOnSuccess: true,
      closeToTray: false,
      startAtLogin: true,
    });
    expect(normalizeSettings({ theme: 'pink', concurrency: 99, logLevel: 'loud', closeToTray: 'no' })).toEqual(DEFAULT_SETTINGS);
    expect(normalizeSettings({ concurrency: 2.5 }).concurrency).toBe(4);
  });

  it('resolves the theme: system follows the OS, a choice wins', () => {
    expect(resolveTheme('system', 'dark')).toBe('dark');
    expect(resolveTheme('system', 'light')).toBe('light');
    expect(resolveTheme('light', 'dark')).toBe('light');
    expect(resolveTheme('dark', 'light')).toBe('dark');
  });
});
