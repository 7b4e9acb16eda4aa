// An item's versions across snapshots: the mock's item_versions, the comparison helpers and
// the preview's "Versions" panel.
import { describe, expect, it, vi } from 'vitest';
import { fireEvent, render, waitFor } from '@testing-library/svelte';
import { MockBackend, TEXT_ITEM_ID } from '../src/lib/backend/mock';
import type { MockFolder, MockSnapshot } from '../src/lib/backend/mock';
import { CHANGED_ITEM_ID, CHANGED_NOTE, CHANGED_SUBJECT_TAG, itemVersions } from '../src/lib/backend/mock/versions';
import MessagePreview from '../src/lib/snapshots/MessagePreview.svelte';
import { bodyText, compareFields, htmlToText, lineDiff } from '../src/lib/snapshots/versions';
import { $, $$ } from './helpers';

const ALICE = 'alice@contoso.example';

describe('mock item_versions', () => {
  it('lists every snapshot’s copy oldest first and marks changes', async () => {
    const backend = new MockBackend({ open: true });
    const snaps = await backend.snapshotsList();
    const versions = await backend.itemVersions(CHANGED_ITEM_ID);
    expect(versions.map((v) => v.snapshotId)).toEqual(snaps.map((s) => s.id));
    expect(versions.map((v) => v.shortId)).toEqual(snaps.map((s) => s.shortId));
    expect(versions.map((v) => v.time)).toEqual(snaps.map((s) => s.time));
    expect(versions.map((v) => v.path)).toEqual([
      `/${ALICE}/Inbox/${CHANGED_ITEM_ID}`,
      `/${ALICE}/Inbox/${CHANGED_ITEM_ID}`,
      `/${ALICE}/Inbox/${CHANGED_ITEM_ID}`,
    ]);
    // First always; read state in the second; subject, body and size in the third.
    expect(versions.map((v) => v.changed)).toEqual([true, true, true]);
    expect(versions[2].subject.startsWith(CHANGED_SUBJECT_TAG)).toBe(true);
    expect(versions[2].size).toBeGreaterThan(versions[1].size);
    // Each path opens that snapshot's copy.
    const [first, , last] = await Promise.all(versions.map((v) => backend.itemPreview(v.snapshotId, v.path)));
    expect(first.text).not.toContain(CHANGED_NOTE);
    expect(last.text).toContain(CHANGED_NOTE);
    expect(last.date).toBe(first.date); // a message keeps its received time
    // The browse listing agrees.
    const inbox = await backend.snapshotBrowse(snaps[1].id, `/${ALICE}/Inbox`);
    expect(inbox.items.find((i) => i.id === CHANGED_ITEM_ID)?.isRead).toBe(true);
  });

  it('follows an item moved to another folder (and a path segment with a slash)', () => {
    const item = (subject: string) => ({ id: 'm/1', subject, from: 'a', receivedDateTime: '2025-01-01T00:00:00Z', size: 5, isRead: true, hasAttachments: false });
    const snap = (n: number, folders: MockFolder[]): MockSnapshot => ({
      snapshot: { id: `${n}`.repeat(64), shortId: `${n}`.repeat(8), time: `2025-01-0${n}T00:00:00Z`, hostname: 'h', mailboxes: ['a@x'], itemCount: 1, sizeBytes: 5 },
      mailboxes: [{ upn: 'a@x', folders }],
    });
    const inbox = (items: ReturnType<typeof item>[], children: MockFolder[] = []): MockFolder => ({ name: 'Inbox', items, children });
    const versions = itemVersions(
      [
        snap(3, [inbox([], [{ name: 'A/B', items: [item('s')], children: [] }])]),
        snap(1, [inbox([item('s')])]),
        snap(2, [inbox([])]),
      ],
      'm/1',
    );
    expect(versions.map((v) => v.path)).toEqual(['/a@x/Inbox/m%2F1', '/a@x/Inbox/A%2FB/m%2F1']);
    expect(versions.map((v) => v.changed)).toEqual([true, false]);
  });

  it('marks an unchanged copy, lists only snapshots that hold the item, and nothing for an unknown id', async () => {
    const backend = new MockBackend({ open: true });
    const same = await backend.itemVersions(TEXT_ITEM_ID);
    expect(same).toHaveLength(3);
    expect(same.map((v) => v.changed)).toEqual([true, false, false]);
    // A message that arrived with the second snapshot.
    const newer = await backend.itemVersions('AAMk-alice-inbox-9');
    expect(newer).toHaveLength(2);
    expect(await backend.itemVersions('no-such-item')).toEqual([]);
    await expect(new MockBackend().itemVersions(TEXT_ITEM_ID)).rejects.toMatchObject({ code: 'repo_not_open' });
  });
});

describe('comparison helpers', () => {
  it('turns HTML into text without running or loading anything, and diffs lines', () => {
    expect(htmlToText('<p>Hello,</p><p>one <b>two</b></p><script>alert(1)</script><ul><li>a</li><li>b</li></ul>')).toBe(
      'Hello,\n\none two\n\na\nb',
    );
    expect(bodyText({ subject: '', from: '', to: [], cc: [], date: '', html: '<p>x</p>', text: null, attachments: [] })).toBe('x');
    expect(bodyText({ subject: '', from: '', to: [], cc: [], date: '', html: '<p>x</p>', text: 'plain\r\ntext', attachments: [] })).toBe('plain\ntext');
    expect(lineDiff('a\nb\nc', 'a\nB\nc\nd')).toEqual([
      { kind: 'same', text: 'a' },
      { kind: 'removed', text: 'b' },
      { kind: 'added', text: 'B' },
      { kind: 'same', text: 'c' },
      { kind: 'added', text: 'd' },
    ]);
    expect(lineDiff('x\n'.repeat(3000), 'y')).toBeNull();
  });

  it('marks the fields that differ', () => {
    const v = (path: string, size: number) => ({ snapshotId: 's', shortId: 's', time: '2025-01-01T00:00:00Z', path, size, subject: '', changed: true });
    const p = (subject: string) => ({ subject, from: 'A', to: ['b'], cc: [], date: '2025-01-01T00:00:00Z', html: null, text: 't', attachments: [] });
    const rows = compareFields({ version: v('/m/Inbox/1', 10), preview: p('Old') }, { version: v('/m/Inbox/Projects/1', 10), preview: p('New') });
    expect(rows.filter((r) => r.changed).map((r) => r.field)).toEqual(['subject', 'folder']);
    expect(rows.find((r) => r.field === 'folder')).toMatchObject({ older: 'Inbox', newer: 'Inbox › Projects' });
  });
});

describe('versions panel in the preview', () => {
  async function setup() {
    const backend = new MockBackend({ open: true });
    const snaps = await backend.snapshotsList();
    const newest = snaps.at(-1)!;
    const path = `/${ALICE}/Inbox/${CHANGED_ITEM_ID}`;
    const preview = await backend.itemPreview(newest.id, path);
    const errors = { show: vi.fn(), clear: vi.fn() };
    const source = { backend, errors, snapshotId: newest.id, itemId: CHANGED_ITEM_ID };
    const result = render(MessagePreview, { props: { preview, loading: false, source } });
    return { ...result, backend, snaps, errors };
  }

  it('lists the versions, compares two (fields and body text) and opens an older copy in the preview', async () => {
    const { container, backend, snaps, errors } = await setup();
    const button = $(container, '#preview-versions');
    expect(button.getAttribute('aria-expanded')).toBe('false');
    await fireEvent.click(button);
    expect(button.getAttribute('aria-expanded')).toBe('true');
    await waitFor(() => expect($$(container, '#versions-panel .version-row')).toHaveLength(3));
    const rows = $$(container, '.version-row');
    expect(rows.map((r) => r.dataset.snapshotId)).toEqual(snaps.map((s) => s.id));
    expect(rows[2].classList.contains('shown')).toBe(true);
    expect(rows[2].textContent).toContain('Inbox');
    expect(rows[1].textContent).toContain('Changed');
    // The shown copy and the one before it are chosen; a third cannot be added.
    const checks = $$(container, '.version-check') as HTMLInputElement[];
    expect(checks.map((c) => c.checked)).toEqual([false, true, true]);
    expect(checks[0].disabled).toBe(true);
    for (const c of checks) expect(c.getAttribute('aria-label')).toMatch(/^Compare the version of /);

    // Compare the first and the last.
    await fireEvent.click(checks[1]);
    expect(checks[0].disabled).toBe(false);
    await fireEvent.click(checks[0]);
    const preview = vi.spyOn(backend, 'itemPreview');
    await fireEvent.click($(container, '#versions-compare'));
    await waitFor(() => expect(container.querySelector('#versions-diff')).not.toBeNull());
    expect(preview.mock.calls.map((c) => c[0])).toEqual([snaps[0].id, snaps[2].id]);
    const changed = $$(container, '#versions-diff tr[data-changed="true"]').map((r) => r.dataset.field);
    expect(changed).toEqual(['subject', 'size']);
    const subject = $(container, '#versions-diff tr[data-field="subject"]');
    expect(subject.textContent).toContain(`${CHANGED_SUBJECT_TAG}Fwd`);
    const added = $$(container, '#versions-body-diff li.added').map((li) => li.textContent);
    expect(added.some((l) => l?.includes(CHANGED_NOTE))).toBe(true);
    expect($$(container, '#versions-body-diff li.removed').length).toBeGreaterThan(0);
    // Never HTML outside the preview frame: the comparison is text.
    expect(container.querySelector('#versions-panel iframe, #versions-panel em')).toBeNull();

    // Clicking a version shows that snapshot's copy in the preview.
    await fireEvent.click($$(container, '.version-open')[0]);
    await waitFor(() => expect(container.querySelector('#preview-version-note')).not.toBeNull());
    expect($(container, '#preview-subject').textContent?.startsWith(CHANGED_SUBJECT_TAG)).toBe(false);
    expect($(container, '#preview-version-note').textContent).toContain(snaps[0].shortId);
    await fireEvent.click($(container, '#preview-version-back'));
    expect(container.querySelector('#preview-version-note')).toBeNull();
    expect($(container, '#preview-subject').textContent?.startsWith(CHANGED_SUBJECT_TAG)).toBe(true);

    // Closing returns focus to the button.
    await fireEvent.click($(container, '#versions-close'));
    expect(container.querySelector('#versions-panel')).toBeNull();
    expect(document.activeElement?.id).toBe('preview-versions');
    expect(errors.show).not.toHaveBeenCalled();
  });

  it('reports a failed lookup through the error sink', async () => {
    const { container, backend, errors } = await setup();
    vi.spyOn(backend, 'itemVersions').mockRejectedValueOnce({ code: 'repository', message: 'pack missing' });
    await fireEvent.click($(container, '#preview-versions'));
    await waitFor(() => expect(errors.show).toHaveBeenCalledWith({ code: 'repository', message: 'pack missing' }));
    expect($(container, '#versions-panel').textContent).toContain('No snapshot holds this message.');
  });
});
