import type { CategoryName, SearchQuery } from '../backend/types';

/** The search form as the user fills it (strings from the inputs). */
export type SearchForm = {
  text: string;
  mailbox: string;
  folder: string;
  category: CategoryName | '';
  /** `YYYY-MM-DD` from <input type="date">, or ''. */
  fromDate: string;
  toDate: string;
  hasAttachments: boolean;
  /** All snapshots, or only the newest. */
  snapshot: 'all' | 'latest';
};

export const EMPTY_SEARCH: SearchForm = {
  text: '',
  mailbox: '',
  folder: '',
  category: '',
  fromDate: '',
  toDate: '',
  hasAttachments: false,
  snapshot: 'all',
};

/** Hits asked for at once. */
export const SEARCH_LIMIT = 500;

/** The `search` request for a filled-in form. */
export function buildQuery(form: SearchForm, limit = SEARCH_LIMIT): SearchQuery {
  const orNull = (s: string) => (s.trim() ? s.trim() : null);
  return {
    text: form.text.trim(),
    mailbox: orNull(form.mailbox),
    folder: orNull(form.folder.replace(/^\/+|\/+$/g, '')),
    category: form.category || null,
    fromDate: orNull(form.fromDate),
    toDate: orNull(form.toDate),
    hasAttachments: form.hasAttachments ? true : null,
    snapshot: form.snapshot === 'latest' ? 'latest' : null,
    limit,
  };
}
