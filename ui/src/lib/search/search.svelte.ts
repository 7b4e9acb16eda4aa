import type { Backend } from '../backend';
import { toApiError } from '../backend/errors';
import type { ApiError, SearchHit, SearchResults } from '../backend/types';
import type { ErrorSink } from '../components/errors';
import { t } from '../i18n/en';
import { Checks } from '../restore/checks.svelte';
import { EMPTY_SEARCH, buildQuery, type SearchForm } from './query';

/** A hit's key: a message version (the same id can be two hits when it changed). */
export function hitKey(hit: SearchHit): string {
  const newest = hit.places[0];
  return `${hit.itemId}\n${newest?.snapshotId ?? ''}\n${newest?.path ?? ''}`;
}

/**
 * The search screen's state: the form, the results and the checked hits. Kept per repository
 * session (see `searchState`), so going to a snapshot and back finds the results again.
 */
export class SearchState {
  form = $state<SearchForm>({ ...EMPTY_SEARCH });
  results = $state<SearchResults | null>(null);
  searching = $state(false);
  /** A query the engine could not read (`invalid_input`), shown under the box. */
  queryError = $state<ApiError | null>(null);
  /** Index of the hit shown in the preview (-1: none). */
  active = $state(-1);
  checks = $state(new Checks());
  #request = 0;

  constructor(
    private readonly backend: Backend,
    private readonly errors: ErrorSink,
  ) {}

  get hits(): SearchHit[] {
    return this.results?.hits ?? [];
  }

  get activeHit(): SearchHit | null {
    return this.hits[this.active] ?? null;
  }

  get checkedHits(): SearchHit[] {
    return this.hits.filter((h) => this.checks.has(hitKey(h)));
  }

  async search(): Promise<void> {
    if (!this.form.text.trim()) {
      // The engine needs words to look for; filters narrow them down.
      this.queryError = { code: 'invalid_input', message: t.restore.search.emptyQuery };
      return;
    }
    const mine = ++this.#request;
    this.searching = true;
    this.queryError = null;
    try {
      const results = await this.backend.search(buildQuery(this.form));
      if (mine !== this.#request) return;
      this.results = results;
      this.active = -1;
      this.checks = new Checks();
      this.errors.clear();
    } catch (e) {
      if (mine !== this.#request) return;
      const error = toApiError(e);
      if (error.code === 'invalid_input') this.queryError = error;
      else this.errors.show(error);
    } finally {
      if (mine === this.#request) this.searching = false;
    }
  }

  clearFilters(): void {
    this.form = { ...EMPTY_SEARCH, text: this.form.text };
  }
}

const states = new WeakMap<object, SearchState>();

/** The search state of a repository session (made on first use). */
export function searchState(session: object, backend: Backend, errors: ErrorSink): SearchState {
  let state = states.get(session);
  if (!state) {
    state = new SearchState(backend, errors);
    states.set(session, state);
  }
  return state;
}
