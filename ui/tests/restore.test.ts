import { describe, expect, it } from 'vitest';
import { MockBackend } from '../src/lib/backend/mock';
import { ALREADY_THERE, MOCK_PICKED_FOLDER, parseQuery } from '../src/lib/backend/mock/jobs';
import { itemPath } from '../src/lib/backend/paths';
import {
  SNIPPET_MARK_END,
  SNIPPET_MARK_START,
  type Progress,
  type RestoreRequest,
  type SearchQuery,
} from '../src/lib/backend/types';
import { deferred } from './helpers';

const ALICE = 'alice@contoso.example';
const INBOX = `/${ALICE}/Inbox`;

function query(text: string, more: Partial<SearchQuery> = {}): SearchQuery {
  return { text, mailbox: null, folder: null, category: null, fromDate: null, toDate: null, hasAttachments: null, snapshot: null, limit: 0, ...more };
}

async function setup(options: ConstructorParameters<typeof MockBackend>[0] = {}) {
  const backend = new MockBackend({ open: true, ...options });
  const snapshots = await backend.snapshotsList();
  const newest = snapshots[snapshots.length - 1];
  return { backend, newest, snapshots };
}

function restoreRequest(snapshotId: string, paths: string[], more: Partial<RestoreRequest> = {}): RestoreRequest {
  return {
    snapshotId,
    paths,
    targetMailbox: null,
    target: { kind: 'original' },
    recursive: true,
    onConflict: 'skip',
    dryRun: false,
    setName: null,
    ...more,
  };
}

describe('mock search', () => {
  it('finds messages by subject words, one hit per version listing its snapshots newest first', async () => {
    const { backend, snapshots } = await setup();
    const results = await backend.search(query('invoice'));
    expect(results.total).toBeGreaterThan(0);
    expect(results.totalCapped).toBe(false);
    for (const hit of results.hits) expect(hit.subject.toLowerCase()).toContain('invoice');
    const hit = results.hits[0];
    expect(hit.places.length).toBeGreaterThanOrEqual(1);
    const times = hit.places.map((p) => p.snapshotTime);
    expect([...times].sort().reverse()).toEqual(times);
    expect(hit.places[0].snapshotId).toBe(snapshots.find((s) => s.time === times[0])!.id);
    // The place is a path the preview and restore take.
    const preview = await backend.itemPreview(hit.places[0].snapshotId, hit.places[0].path);
    expect(preview.subject).toBe(hit.subject);
  });

  it('marks the matched words in the snippet and honours from:, subject:, phrases and NOT', async () => {
    const { backend } = await setup();
    const body = await backend.search(query('details'));
    expect(body.hits[0].snippet).toContain(`${SNIPPET_MARK_START}details${SNIPPET_MARK_END}`);
    const from = await backend.search(query('from:billing'));
    expect(from.total).toBeGreaterThan(0);
    for (const hit of from.hits) expect(hit.from).toContain('billing@fabrikam.example');
    const subject = await backend.search(query('subject:"budget approval"'));
    expect(subject.total).toBeGreaterThan(0);
    for (const hit of subject.hits) expect(hit.subject).toContain('Budget approval');
    const not = await backend.search(query('from:billing NOT invoice'));
    for (const hit of not.hits) expect(hit.subject.toLowerCase()).not.toContain('invoice');
    const prefix = await backend.search(query('budg*'));
    expect(prefix.total).toBe(subject.total);
    expect((await backend.search(query('zzzznothing'))).total).toBe(0);
  });

  it('filters by mailbox, folder (with subfolders), attachments, dates and the latest snapshot', async () => {
    const { backend, newest } = await setup();
    const bob = await backend.search(query('contoso', { mailbox: 'bob@contoso.example', limit: 1000 }));
    expect(bob.hits.length).toBeGreaterThan(0);
    expect(bob.hits.every((h) => h.places.every((p) => p.mailbox === 'bob@contoso.example'))).toBe(true);
    const inbox = await backend.search(query('contoso', { mailbox: ALICE, folder: 'Inbox', limit: 1000 }));
    const folders = new Set(inbox.hits.flatMap((h) => h.places.map((p) => p.folder)));
    expect([...folders].sort()).toEqual(['Inbox', 'Inbox/Projects']);
    const withAttachments = await backend.search(query('contoso', { hasAttachments: true, limit: 1000 }));
    expect(withAttachments.hits.length).toBeGreaterThan(0);
    expect(withAttachments.hits.every((h) => h.hasAttachments)).toBe(true);
    const latest = await backend.search(query('contoso', { snapshot: 'latest', limit: 1000 }));
    expect(latest.hits.every((h) => h.places.length === 1 && h.places[0].snapshotId === newest.id)).toBe(true);
    const day = newest.time.slice(0, 10);
    const onDay = await backend.search(query('contoso', { fromDate: day, toDate: day, limit: 1000 }));
    expect(onDay.hits.length).toBeGreaterThan(0);
    expect(onDay.hits.every((h) => h.date.slice(0, 10) === day)).toBe(true);
    expect((await backend.search(query('contoso', { category: 'contacts' }))).total).toBe(0);
  });

  it('caps the total of a large result and limits the hits', async () => {
    const { backend } = await setup({ largeFolderItems: 30_000 });
    const results = await backend.search(query('newsletters OR digest', { limit: 20 }));
    expect(results.hits).toHaveLength(20);
    const all = await backend.search(query('contoso', { limit: 5000 }));
    expect(all.hits).toHaveLength(1000);
    expect(all.total).toBe(10_000);
    expect(all.totalCapped).toBe(true);
  });

  it('rejects bad syntax with invalid_input', async () => {
    const { backend } = await setup();
    await expect(backend.search(query('"unclosed phrase'))).rejects.toMatchObject({ code: 'invalid_input' });
    await expect(backend.search(query('invoice AND'))).rejects.toMatchObject({ code: 'invalid_input' });
    await expect(backend.search(query('subject:'))).rejects.toMatchObject({ code: 'invalid_input' });
    await expect(backend.search(query('  ', { mailbox: ALICE }))).rejects.toMatchObject({ code: 'invalid_input' });
    await expect(backend.search(query('NOT invoice'))).rejects.toMatchObject({ code: 'invalid_input' });
    expect(() => parseQuery('a OR b "c d" from:x NOT y')).not.toThrow();
  });
});

describe('mock restore', () => {
  it('plans a dry run without writing, then restores to the original place with progress', async () => {
    const { backend, newest } = await setup();
    const browse = await backend.snapshotBrowse(newest.id, INBOX);
    const dry = await backend.restoreRun(restoreRequest(newest.id, [INBOX], { dryRun: true }), () => {});
    expect(dry).toHaveLength(1);
    expect(dry[0].dryRun).toBe(true);
    const creates = dry[0].planned.filter((p) => p.action === 'create' && p.kind === 'message');
    const inboxItems = browse.items.length;
    const projects = (await backend.snapshotBrowse(newest.id, `${INBOX}/Projects`)).items.length;
    expect(creates).toHaveLength(inboxItems + projects);
    expect(backend.jobs.writes).toHaveLength(0);

    const seen: Progress[] = [];
    const [report] = await backend.restoreRun(restoreRequest(newest.id, [INBOX]), (p) => seen.push(p));
    expect(report.mailbox).toBe(ALICE);
    expect(report.itemsRestored).toBe(inboxItems + projects);
    expect(report.targetFolder).toBe('');
    expect(seen.at(-1)?.phase).toBe('done');
    expect(seen.some((p) => p.phase === 'items' && p.itemsDone > 0)).toBe(true);
    expect(backend.jobs.itemsIn(ALICE, 'Inbox').size).toBe(inboxItems);
    expect(backend.jobs.itemsIn(ALICE, 'Inbox/Projects').size).toBe(projects);

    // A second run skips everything: "already in the mailbox".
    const [again] = await backend.restoreRun(restoreRequest(newest.id, [INBOX]), () => {});
    expect(again.itemsRestored).toBe(0);
    expect(again.itemsSkipped).toBe(inboxItems + projects);
    expect(again.skipped.every((s) => s.reason === ALREADY_THERE)).toBe(true);
    // Keep both adds copies; overwrite replaces.
    const item = itemPath(INBOX, browse.items[0].id);
    const [both] = await backend.restoreRun(restoreRequest(newest.id, [item], { onConflict: 'keep-both' }), () => {});
    expect(both.itemsRestored).toBe(1);
    expect(backend.jobs.itemsIn(ALICE, 'Inbox').get(browse.items[0].id)).toBe(2);
    const [over] = await backend.restoreRun(restoreRequest(newest.id, [item], { onConflict: 'overwrite' }), () => {});
    expect(over.itemsOverwritten).toBe(1);
  });

  it('restores into a new folder and into another mailbox; an unknown mailbox is not_found', async () => {
    const { backend, newest } = await setup();
    const [folder] = await backend.restoreRun(
      restoreRequest(newest.id, [`${INBOX}/Projects`], { target: { kind: 'folder', name: 'Restored 2026-11-27 14:03' } }),
      () => {},
    );
    expect(folder.targetFolder).toBe('Restored 2026-11-27 14:03');
    expect(folder.foldersCreated).toBe(2);
    expect(backend.jobs.itemsIn(ALICE, 'Restored 2026-11-27 14:03/Projects').size).toBe(folder.itemsRestored);

    const browse = await backend.snapshotBrowse(newest.id, INBOX);
    const paths = browse.items.slice(0, 2).map((i) => itemPath(INBOX, i.id));
    const [carol] = await backend.restoreRun(
      restoreRequest(newest.id, paths, { targetMailbox: 'carol@contoso.example', onConflict: 'keep-both' }),
      () => {},
    );
    expect(carol.mailbox).toBe('carol@contoso.example');
    expect(carol.itemsRestored).toBe(2);
    expect(backend.jobs.writes.filter((w) => w.mailbox === 'carol@contoso.example').map((w) => w.folder)).toEqual(['Inbox', 'Inbox']);
    await expect(
      backend.restoreRun(restoreRequest(newest.id, paths, { targetMailbox: 'nobody@contoso.example' }), () => {}),
    ).rejects.toMatchObject({ code: 'not_found' });
    await expect(backend.restoreRun(restoreRequest(newest.id, ['/nobody@x/Inbox']), () => {})).rejects.toMatchObject({
      code: 'not_found',
    });
  });

  it('a whole mailbox without subfolders takes only the top-level folders', async () => {
    const { backend, newest } = await setup();
    const [r] = await backend.restoreRun(restoreRequest(newest.id, [`/${ALICE}`], { recursive: false, dryRun: true }), () => {});
    expect(r.planned.some((p) => p.folder.startsWith('Inbox/Projects'))).toBe(false);
    expect(r.planned.some((p) => p.folder === 'Sent Items')).toBe(true);
  });

  it('is cancellable: the run rejects with cancelled after what it wrote', async () => {
    const gate = deferred();
    let paused = false;
    const { backend, newest } = await setup({
      onStep: async (p) => {
        if (p.phase === 'items' && p.itemsDone === 3 && !paused) {
          paused = true;
          await gate.promise;
        }
      },
    });
    const run = backend.restoreRun(restoreRequest(newest.id, [`/${ALICE}`]), () => {});
    await expect.poll(() => paused).toBe(true);
    await backend.jobCancel();
    gate.resolve();
    await expect(run).rejects.toMatchObject({ code: 'cancelled' });
    expect(backend.jobs.writes).toHaveLength(3);
    // Another job may start once it stopped.
    const [next] = await backend.restoreRun(restoreRequest(newest.id, [`/${ALICE}`], { dryRun: true }), () => {});
    expect(next.itemsSkipped).toBe(3);
  });
});

describe('mock export and folder picker', () => {
  it('exports a folder as .mbox (one file per folder) and .eml (one per message), and refuses a non-empty folder', async () => {
    const { backend, newest } = await setup();
    const base = { snapshotId: newest.id, paths: [INBOX], recursive: true, eventFiles: false, zip: false, dryRun: false };
    const [mbox] = await backend.exportRun({ ...base, mailFormat: 'mbox', target: '/tmp/out' }, () => {});
    const inbox = (await backend.snapshotBrowse(newest.id, INBOX)).items.length;
    const projects = (await backend.snapshotBrowse(newest.id, `${INBOX}/Projects`)).items.length;
    expect(mbox.messages).toBe(inbox + projects);
    expect(mbox.files).toBe(2);
    expect(mbox.bytes).toBeGreaterThan(0);
    expect(mbox.target).toBe('/tmp/out');
    await expect(backend.exportRun({ ...base, mailFormat: 'eml', target: '/tmp/out' }, () => {})).rejects.toMatchObject({
      code: 'invalid_input',
    });
    const [eml] = await backend.exportRun({ ...base, mailFormat: 'eml', target: '/tmp/out', allowNonEmpty: true }, () => {});
    expect(eml.files).toBe(inbox + projects);
    const [dry] = await backend.exportRun({ ...base, mailFormat: 'eml', target: '/tmp/zip/x.zip', zip: true, dryRun: true }, () => {});
    expect(dry.dryRun).toBe(true);
    expect(backend.jobs.exportTargets.has('/tmp/zip/x.zip')).toBe(false);
    await expect(backend.exportRun({ ...base, mailFormat: 'eml', target: '/tmp/x', zip: true }, () => {})).rejects.toMatchObject({
      code: 'invalid_input',
    });
    await expect(
      backend.exportRun({ ...base, paths: [INBOX, `/${ALICE}/Sent Items`], mailFormat: 'eml', target: '/tmp/y.zip', zip: true }, () => {}),
    ).rejects.toMatchObject({ code: 'invalid_input' });
    expect(backend.jobs.exports).toHaveLength(3);
  });

  it('pickFolder returns the configured folder, null when cancelled', async () => {
    const { backend } = await setup();
    expect(await backend.pickFolder('Choose')).toBe(MOCK_PICKED_FOLDER);
    backend.jobs.pickFolderResult = null;
    expect(await backend.pickFolder('Choose')).toBeNull();
  });
});
