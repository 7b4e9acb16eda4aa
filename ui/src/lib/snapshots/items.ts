import type { ItemEntry } from '../backend/types';

export type SortKey = 'date' | 'subject' | 'from' | 'size';
export type SortDir = 'asc' | 'desc';
export const SORT_KEYS: readonly SortKey[] = ['date', 'subject', 'from', 'size'];
/** The direction a key starts in when chosen: newest and largest first, names A to Z. */
export const DEFAULT_DIR: Record<SortKey, SortDir> = { date: 'desc', subject: 'asc', from: 'asc', size: 'desc' };

/** An item with its sort and search keys computed once per folder (100,000 items stay fast). */
export type IndexedItem = { item: ItemEntry; time: number; subject: string; from: string; text: string };

export function indexItems(items: readonly ItemEntry[]): IndexedItem[] {
  return items.map((item) => {
    const subject = item.subject.toLocaleLowerCase();
    const from = item.from.toLocaleLowerCase();
    const time = Date.parse(item.receivedDateTime);
    return { item, time: Number.isNaN(time) ? 0 : time, subject, from, text: `${subject}\n${from}` };
  });
}

function compare(a: IndexedItem, b: IndexedItem, key: SortKey): number {
  switch (key) {
    case 'date':
      return a.time - b.time;
    case 'size':
      return a.item.size - b.item.size;
    case 'subject':
      return a.subject < b.subject ? -1 : a.subject > b.subject ? 1 : 0;
    case 'from':
      return a.from < b.from ? -1 : a.from > b.from ? 1 : 0;
  }
}

/** Sorted copy; ties are broken by date (newest first), then id, so the order is stable. */
export function sortItems(items: readonly IndexedItem[], key: SortKey, dir: SortDir): IndexedItem[] {
  const sign = dir === 'asc' ? 1 : -1;
  return [...items].sort(
    (a, b) =>
      sign * compare(a, b, key) || b.time - a.time || (a.item.id < b.item.id ? -1 : a.item.id > b.item.id ? 1 : 0),
  );
}

/** Items whose subject or sender contains every word of `query` (case-insensitive). */
export function filterItems(items: readonly IndexedItem[], query: string): IndexedItem[] {
  const words = query.toLocaleLowerCase().split(/\s+/).filter(Boolean);
  if (words.length === 0) return items as IndexedItem[];
  return items.filter((i) => words.every((w) => i.text.includes(w)));
}
