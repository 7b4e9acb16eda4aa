import { describe, expect, it, vi } from 'vitest';
import { fireEvent, render, waitFor } from '@testing-library/svelte';
import { MockBackend } from '../src/lib/backend/mock';
import { itemPath } from '../src/lib/backend/paths';
import type { ItemEntry } from '../src/lib/backend/types';
import { Checks } from '../src/lib/restore/checks.svelte';
import RestoreDialog from '../src/lib/restore/RestoreDialog.svelte';
import { groupBySnapshot, nextChecked, rangeIds, readablePath, type RestoreItem } from '../src/lib/restore/selection';
import { RestoreWizard, countPlanned, defaultFolderName, defaultZipName, joinPath } from '../src/lib/restore/wizard.svelte';
import ItemList from '../src/lib/snapshots/ItemList.svelte';
import { $, $$, deferred } from './helpers';

const ALICE = 'alice@contoso.example';
const INBOX = `/${ALICE}/Inbox`;

describe('selection logic', () => {
  const order = ['a', 'b', 'c', 'd', 'e'];

  it('ranges run from the anchor to the clicked id, either way', () => {
    expect(rangeIds(order, 'b', 'd')).toEqual(['b', 'c', 'd']);
    expect(rangeIds(order, 'd', 'b')).toEqual(['b', 'c', 'd']);
    expect(rangeIds(order, null, 'c')).toEqual(['c']);
    expect(rangeIds(order, 'gone', 'c')).toEqual(['c']);
    expect(rangeIds(order, 'a', 'zz')).toEqual([]);
  });

  it('toggle, range, all and none', () => {
    let s = nextChecked(new Set(), null, order, 'toggle', 'b');
    expect([...s.checked]).toEqual(['b']);
    s = nextChecked(s.checked, s.anchor, order, 'range', 'd');
    expect([...s.checked].sort()).toEqual(['b', 'c', 'd']);
    s = nextChecked(s.checked, s.anchor, order, 'toggle', 'c');
    expect([...s.checked].sort()).toEqual(['b', 'd']);
    expect(s.anchor).toBe('c');
    s = nextChecked(s.checked, s.anchor, order, 'all', null);
    expect(s.checked.size).toBe(5);
    s = nextChecked(s.checked, s.anchor, order, 'all', null);
    expect(s.checked.size).toBe(0);
    s = nextChecked(new Set(['a']), 'a', order, 'none', null);
    expect(s.checked.size).toBe(0);
    expect(s.anchor).toBeNull();
  });

  it('groups paths by snapshot and shows paths readably', () => {
    const item = (snapshotId: string, path: string): RestoreItem => ({ snapshotId, snapshotLabel: snapshotId, path, kind: 'item', label: path });
    expect(groupBySnapshot([item('s1', '/a'), item('s2', '/b'), item('s1', '/c'), item('s1', '/a')])).toEqual([
      { snapshotId: 's1', snapshotLabel: 's1', paths: ['/a', '/c'] },
      { snapshotId: 's2', snapshotLabel: 's2', paths: ['/b'] },
    ]);
    expect(readablePath('/alice@x/Mail/In%2Fbox')).toBe('alice@x › Mail › In/box');
  });

  it('checks messages in the list with Space, ctrl-click, shift-click and Ctrl+A (aria-multiselectable)', async () => {
    const items: ItemEntry[] = Array.from({ length: 50 }, (_, i) => ({
      id: `id-${i}`,
      subject: `Subject ${i}`,
      from: 'x',
      receivedDateTime: new Date(Date.UTC(2025, 0, 1) + i * 60_000).toISOString(),
      size: 1,
      isRead: true,
      hasAttachments: false,
    }));
    const checks = new Checks();
    const { container } = render(ItemList, { props: { items, onSelect: () => {}, checks } });
    const list = $(container, '#item-list');
    expect(list.getAttribute('aria-multiselectable')).toBe('true');
    await fireEvent.keyDown(list, { key: 'ArrowDown' });
    await fireEvent.keyDown(list, { key: ' ' });
    expect([...checks.checked]).toEqual(['id-49']);
    const rows = () => $$(container, '#item-list [role="option"]');
    expect(rows()[0].getAttribute('aria-selected')).toBe('true');
    expect(rows()[1].getAttribute('aria-selected')).toBe('false');
    await fireEvent.keyDown(list, { key: 'ArrowDown', shiftKey: true });
    await fireEvent.keyDown(list, { key: 'ArrowDown', shiftKey: true });
    expect([...checks.checked].sort()).toEqual(['id-47', 'id-48', 'id-49']);
    await fireEvent.click(rows()[5], { ctrlKey: true });
    expect(checks.has('id-44')).toBe(true);
    await fireEvent.click(rows()[7], { shiftKey: true });
    expect(checks.size).toBe(6);
    await fireEvent.click($(rows()[9], '.item-check'));
    expect(checks.has('id-40')).toBe(true);
    // A plain click only moves the preview.
    await fireEvent.click(rows()[12]);
    expect(checks.has('id-37')).toBe(false);
    await fireEvent.keyDown(list, { key: 'a', ctrlKey: true });
    expect(checks.size).toBe(50);
    expect($$(container, '.item-check.on').length).toBe(rows().length);
  });
});

describe('restore wizard', () => {
  const now = new Date(2026, 10, 27, 14, 3);

  it('names the new folder and zip after the local time and joins paths with their own separator', () => {
    expect(defaultFolderName(now)).toBe('Restored 2026-11-27 14:03');
    expect(defaultZipName(now)).toBe('qcbackup-export-2026-11-27-1403.zip');
    expect(joinPath('/home/me/Exports/', 'a.zip')).toBe('/home/me/Exports/a.zip');
    expect(joinPath('C:\\Users\\me', 'a.zip')).toBe('C:\\Users\\me\\a.zip');
  });

  async function wizardFor(mode: 'restore' | 'export' = 'restore') {
    const backend = new MockBackend({ open: true });
    const snaps = await backend.snapshotsList();
    const newest = snaps[snaps.length - 1];
    const oldest = snaps[0];
    const inbox = await backend.snapshotBrowse(newest.id, INBOX);
    const items: RestoreItem[] = [
      { snapshotId: newest.id, snapshotLabel: newest.shortId, path: itemPath(INBOX, inbox.items[0].id), kind: 'item', label: inbox.items[0].subject },
      { snapshotId: oldest.id, snapshotLabel: oldest.shortId, path: `${INBOX}/Projects`, kind: 'folder', label: 'Projects' },
    ];
    const wizard = new RestoreWizard(backend, { items, mode }, now);
    return { backend, wizard, newest, oldest, items };
  }

  it('walks the steps, validates the target and builds one request per snapshot', async () => {
    const { wizard, newest, oldest, items } = await wizardFor();
    expect(wizard.steps).toEqual(['what', 'target', 'conflict', 'review', 'result']);
    expect(wizard.hasFolders).toBe(true);
    wizard.next();
    expect(wizard.step).toBe('target');
    wizard.target = 'mailbox';
    wizard.next();
    expect(wizard.step).toBe('target');
    expect(wizard.showErrors).toBe(true);
    expect(wizard.errors.mailbox).toBeDefined();
    wizard.mailbox = ' carol@contoso.example ';
    wizard.mailboxIntoFolder = true;
    wizard.folderName = 'a/b';
    expect(wizard.errors.folderName).toBe('slash');
    wizard.folderName = 'Recovered';
    wizard.next();
    expect(wizard.step).toBe('conflict');
    wizard.onConflict = 'keep-both';
    wizard.recursive = false;
    expect(wizard.restoreRequests(true)).toEqual([
      {
        snapshotId: newest.id,
        paths: [items[0].path],
        targetMailbox: 'carol@contoso.example',
        target: { kind: 'folder', name: 'Recovered' },
        recursive: false,
        onConflict: 'keep-both',
        dryRun: true,
        setName: null,
      },
      expect.objectContaining({ snapshotId: oldest.id, paths: [items[1].path] }),
    ]);
    wizard.back();
    expect(wizard.step).toBe('target');
    wizard.target = 'original';
    expect(wizard.restoreRequests(false)[0]).toMatchObject({ targetMailbox: null, target: { kind: 'original' } });
    wizard.target = 'folder';
    expect(wizard.restoreRequests(false)[0].target).toEqual({ kind: 'folder', name: 'Recovered' });
  });

  it('dry-runs on entering the review, then runs with progress and reports per mailbox', async () => {
    const { backend, wizard } = await wizardFor();
    wizard.next();
    wizard.target = 'folder';
    wizard.next();
    wizard.next();
    expect(wizard.step).toBe('review');
    await expect.poll(() => wizard.planning).toBe(false);
    expect(wizard.plan).toHaveLength(1);
    const counts = countPlanned(wizard.plan![0].planned);
    expect(counts[0]).toMatchObject({ action: 'create-folder', kind: 'folder' });
    expect(counts.find((c) => c.action === 'create' && c.kind === 'message')?.count).toBe(4);
    expect(backend.jobs.writes).toHaveLength(0);
    await wizard.run();
    expect(wizard.step).toBe('result');
    expect(wizard.error).toBeNull();
    expect(wizard.reports).toHaveLength(1);
    expect(wizard.reports![0]).toMatchObject({ mailbox: ALICE, itemsRestored: 4, targetFolder: 'Restored 2026-11-27 14:03' });
    expect(backend.jobs.writes).toHaveLength(4);
  });

  it('cancels a running restore: the error is `cancelled` and what finished is kept', async () => {
    const gate = deferred();
    let paused = false;
    let armed = false; // not during the dry run
    const backend = new MockBackend({
      open: true,
      onStep: async (p) => {
        if (armed && p.phase === 'items' && p.itemsDone === 2 && !paused) {
          paused = true;
          await gate.promise;
        }
      },
    });
    const snaps = await backend.snapshotsList();
    const newest = snaps[snaps.length - 1];
    const wizard = new RestoreWizard(backend, {
      mode: 'restore',
      items: [{ snapshotId: newest.id, snapshotLabel: '', path: `/${ALICE}`, kind: 'mailbox', label: ALICE }],
    });
    wizard.next();
    wizard.next();
    wizard.next();
    await expect.poll(() => wizard.plan).not.toBeNull();
    armed = true;
    const done = wizard.run();
    await expect.poll(() => paused).toBe(true);
    expect(wizard.running).toBe(true);
    await wizard.cancel();
    expect(wizard.cancelling).toBe(true);
    gate.resolve();
    await done;
    expect(wizard.cancelled).toBe(true);
    expect(wizard.running).toBe(false);
    expect(backend.jobs.writes).toHaveLength(2);
  });

  it('export: no conflict step, the zip file in the picked folder, allowNonEmpty only when asked', async () => {
    const { backend, wizard } = await wizardFor('export');
    expect(wizard.isExport).toBe(true);
    expect(wizard.steps).toEqual(['what', 'target', 'review', 'result']);
    wizard.next();
    wizard.next();
    expect(wizard.errors.exportFolder).toBe('required');
    await wizard.pickFolder('Choose');
    expect(wizard.exportFolder).toBe('/home/demo/Exports');
    backend.jobs.pickFolderResult = null;
    await wizard.pickFolder('Choose');
    expect(wizard.exportFolder).toBe('/home/demo/Exports');
    wizard.mailFormat = 'mbox';
    const [first, second] = wizard.exportRequests(false);
    expect(first).not.toHaveProperty('allowNonEmpty');
    expect(first).toMatchObject({ target: '/home/demo/Exports', mailFormat: 'mbox', zip: false });
    expect(second.allowNonEmpty).toBe(true);
    // A zip holds one path: with two, the option is off and the folder is the target.
    expect(wizard.canZip).toBe(false);
    wizard.zip = true;
    expect(wizard.exportRequests(false).map((r) => [r.target, r.zip])).toEqual([
      ['/home/demo/Exports', false],
      ['/home/demo/Exports', false],
    ]);
    const one = new RestoreWizard(backend, { mode: 'export', items: wizard.items.slice(0, 1) }, now);
    expect(one.canZip).toBe(true);
    one.exportFolder = 'C:\\Users\\me';
    one.zip = true;
    one.zipName = 'nope';
    expect(one.errors.zipName).toBe('zip');
    one.zipName = 'mail.zip';
    expect(one.exportRequests(false).map((r) => [r.target, r.zip, 'allowNonEmpty' in r])).toEqual([['C:\\Users\\me\\mail.zip', true, false]]);
    wizard.zip = false;
    wizard.next();
    expect(wizard.step).toBe('review');
    await expect.poll(() => wizard.exportPlan).not.toBeNull();
    expect(wizard.exportPlan![0].dryRun).toBe(true);
    await wizard.run();
    expect(wizard.exportReports!.map((r) => r.messages)).toEqual([1, 3]);
    expect(backend.jobs.exportTargets.has('/home/demo/Exports')).toBe(true);
  });
});

describe('restore dialog', () => {
  it('shows what a dry run cannot do (a failed path) and still offers the run; focus follows the steps', async () => {
    const backend = new MockBackend({ open: true });
    const snaps = await backend.snapshotsList();
    const newest = snaps[snaps.length - 1];
    const failed = { mailbox: ALICE, folder: `${INBOX}/Gone`, itemId: '', reason: '[not_found] no such folder' };
    vi.spyOn(backend, 'restoreRun').mockResolvedValue([
      {
        mailbox: ALICE,
        targetFolder: '',
        dryRun: true,
        foldersCreated: 0,
        itemsRestored: 0,
        itemsOverwritten: 0,
        itemsSkipped: 0,
        skipped: [],
        failed: [failed],
        planned: [{ action: 'create', kind: 'message', folder: 'Inbox', itemId: 'm1' }],
        durationMs: 1,
      },
    ]);
    const onClose = vi.fn();
    const { container } = render(RestoreDialog, {
      props: {
        backend,
        onClose,
        selection: { mode: 'restore', items: [{ snapshotId: newest.id, snapshotLabel: newest.shortId, path: `${INBOX}/Gone`, kind: 'folder', label: 'Gone' }] },
      },
    });
    expect($(container, '#restore-dialog').dataset.step).toBe('what');
    expect((container.querySelector('#restore-recursive') as HTMLInputElement).checked).toBe(true);
    for (const step of ['target', 'conflict', 'review']) {
      await fireEvent.click($(container, '#restore-next'));
      await waitFor(() => expect($(container, '#restore-dialog').dataset.step).toBe(step));
      await waitFor(() => expect(document.activeElement?.id).toBe('restore-step-heading'));
    }
    await waitFor(() => expect(container.querySelector('.plan-failed')).not.toBeNull());
    expect($(container, '.plan-failed').dataset.count).toBe('1');
    expect($(container, '.plan-counts [data-action="create"]').dataset.count).toBe('1');
    expect(container.querySelector('.reasons .reason')?.textContent).toBe(failed.reason);
    expect(($(container, '#restore-run') as HTMLButtonElement).disabled).toBe(false);
    await fireEvent.click($(container, '#restore-back'));
    await waitFor(() => expect($(container, '#restore-dialog').dataset.step).toBe('conflict'));
  });
});
