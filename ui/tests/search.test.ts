import { describe, expect, it, vi } from 'vitest';
import { fireEvent, render, waitFor } from '@testing-library/svelte';
import App from '../src/App.svelte';
import { MockBackend } from '../src/lib/backend/mock';
import { SNIPPET_MARK_END as E, SNIPPET_MARK_START as S, type SearchResults } from '../src/lib/backend/types';
import { buildQuery, EMPTY_SEARCH } from '../src/lib/search/query';
import { snippetParts, snippetText } from '../src/lib/search/snippet';
import { $, $$, type } from './helpers';

/** Renders the app with a repository open, then opens the search screen. */
async function openSearch(backend: MockBackend) {
  const result = render(App, { props: { backend } });
  await waitFor(() => expect(result.container.querySelector('#nav-search[aria-disabled="false"]')).not.toBeNull());
  await fireEvent.click($(result.container, '#nav-search'));
  await waitFor(() => $(result.container, '#search-query'));
  return result;
}

const HOSTILE = '<img src=x onerror=alert(1)>';

describe('snippets', () => {
  it('splits a snippet into marked and plain text pieces', () => {
    expect(snippetParts(`before ${S}budget${E} and ${S}plan${E}.`)).toEqual([
      { text: 'before ', mark: false },
      { text: 'budget', mark: true },
      { text: ' and ', mark: false },
      { text: 'plan', mark: true },
      { text: '.', mark: false },
    ]);
    expect(snippetText(`a ${S}b${E} c`)).toBe('a b c');
  });

  it('drops stray and unbalanced marks instead of showing them', () => {
    expect(snippetParts(`${E}x ${S}y`)).toEqual([
      { text: 'x ', mark: false },
      { text: 'y', mark: true },
    ]);
    expect(snippetParts('')).toEqual([]);
  });

  it('renders mail text as text: a subject or snippet with HTML injects nothing', async () => {
    const backend = new MockBackend({ open: true });
    const snapshots = await backend.snapshotsList();
    const snap = snapshots[snapshots.length - 1];
    const results: SearchResults = {
      total: 1,
      totalCapped: false,
      hits: [
        {
          itemId: 'AAMk-alice-inbox-3',
          subject: HOSTILE,
          from: `Mallory ${HOSTILE}`,
          date: snap.time,
          category: 'mail',
          hasAttachments: false,
          snippet: `see ${S}${HOSTILE}${E} <b>bold</b> <script>alert(2)</script>`,
          places: [
            {
              snapshotId: snap.id,
              snapshotTime: snap.time,
              path: '/alice@contoso.example/Inbox/AAMk-alice-inbox-3',
              mailbox: 'alice@contoso.example',
              folder: 'Inbox',
              itemId: 'AAMk-alice-inbox-3',
            },
          ],
        },
      ],
    };
    const search = vi.spyOn(backend, 'search').mockResolvedValue(results);
    const { container } = await openSearch(backend);
    await type($(container, '#search-query'), 'img');
    await fireEvent.submit($(container, '#search-form'));
    await waitFor(() => expect($$(container, '#search-results .hit-row')).toHaveLength(1));
    expect(search).toHaveBeenCalledWith(expect.objectContaining({ text: 'img', snapshot: null, limit: 500 }));
    const list = $(container, '#search-results');
    expect(list.querySelector('img, script, b')).toBeNull();
    const marks = $$(list, '.snippet mark');
    expect(marks).toHaveLength(1);
    expect(marks[0].textContent).toBe(HOSTILE);
    expect($(list, '.subject').textContent).toBe(HOSTILE);
    expect($(list, '.snippet').textContent).toContain('<script>alert(2)</script>');
    expect($(container, '#search-count').textContent).toContain('1 result');
  });
});

describe('search form', () => {
  it('builds the query: empty fields are null, the snapshot choice and attachments', () => {
    expect(buildQuery(EMPTY_SEARCH)).toEqual({
      text: '',
      mailbox: null,
      folder: null,
      category: null,
      fromDate: null,
      toDate: null,
      hasAttachments: null,
      snapshot: null,
      limit: 500,
    });
    const q = buildQuery({
      ...EMPTY_SEARCH,
      text: ' from:megan "budget" ',
      mailbox: 'alice@contoso.example',
      folder: '/Inbox/Projects/',
      category: 'mail',
      fromDate: '2026-11-01',
      toDate: '2026-11-30',
      hasAttachments: true,
      snapshot: 'latest',
    });
    expect(q).toMatchObject({
      text: 'from:megan "budget"',
      folder: 'Inbox/Projects',
      category: 'mail',
      fromDate: '2026-11-01',
      hasAttachments: true,
      snapshot: 'latest',
    });
  });

  it('shows an unbalanced quote as a query error under the box, not a crash; an empty query asks for words', async () => {
    const backend = new MockBackend({ open: true });
    const search = vi.spyOn(backend, 'search');
    const { container } = await openSearch(backend);
    await fireEvent.submit($(container, '#search-form'));
    await waitFor(() => expect(container.querySelector('#search-error')).not.toBeNull());
    expect($(container, '#search-error').textContent).toContain('Type what to look for');
    expect(search).not.toHaveBeenCalled();
    await type($(container, '#search-query'), '"budget');
    await fireEvent.submit($(container, '#search-form'));
    await waitFor(() => expect(container.querySelector('#search-error')).not.toBeNull());
    expect($(container, '#search-query').getAttribute('aria-invalid')).toBe('true');
    await type($(container, '#search-query'), 'budget');
    await fireEvent.submit($(container, '#search-form'));
    await waitFor(() => expect($$(container, '#search-results .hit-row').length).toBeGreaterThan(0));
    expect(container.querySelector('#search-error')).toBeNull();
    expect($(container, '.snippet mark').textContent?.toLowerCase()).toBe('budget');
  });
});
