import { describe, expect, it } from 'vitest';
import { fireEvent, waitFor } from '@testing-library/svelte';
import type { Channel } from '@tauri-apps/api/core';
import { mockIPC } from '@tauri-apps/api/mocks';
import { MockBackend, progressStart } from '../src/lib/backend/mock';
import { TauriBackend } from '../src/lib/backend/tauri';
import { DEMO_CLIENT_ID, DEMO_TENANT_ID, folderVerdict, SHARED_MAILBOX } from '../src/lib/backend/mock/sets';
import { runReportDetails, type ApiError, type Progress, type SetConnection, type SetForm, type SetOverview } from '../src/lib/backend/types';
import { nextDue, parseSchedule, scheduleChoice, scheduleError, scheduleText } from '../src/lib/sets/schedule';
import { SetsStore } from '../src/lib/sets/sets.svelte';
import { presetOf, retentionFrom, presetFields, Wizard } from '../src/lib/sets/wizard.svelte';
import { $, $$, deferred, goTo, renderApp, type } from './helpers';

const demo = (): SetConnection => ({
  tenantId: DEMO_TENANT_ID,
  clientId: DEMO_CLIENT_ID,
  auth: 'client-secret',
  certificate: null,
  account: null,
  graphUrl: 'http://127.0.0.1:8765/v1.0',
  authority: 'http://127.0.0.1:8765',
});

function form(over: Partial<SetForm> = {}): SetForm {
  return {
    name: 'Contoso mail',
    runOn: 'client',
    repository: '/home/demo/QCBackup/repository',
    schedule: 'daily 02:30',
    connection: demo(),
    mailboxes: { allUsers: true, users: [], filter: null, shared: false },
    categories: ['mail', 'contacts'],
    folders: { include: [], exclude: [] },
    retention: null,
    ...over,
  };
}

async function rejection(p: Promise<unknown>): Promise<ApiError> {
  try {
    await p;
  } catch (e) {
    return e as ApiError;
  }
  throw new Error('expected a rejection');
}

/** An open mock backend signed in to the demo app. */
async function signedIn(options: ConstructorParameters<typeof MockBackend>[0] = {}) {
  const backend = new MockBackend({ open: true, ...options });
  await backend.signinApp(demo(), { clientSecret: null, certificatePem: null });
  return backend;
}

describe('mock backup sets', () => {
  it('validates like the engine: name, duplicates (any case), schedule, retention, folders', async () => {
    const b = await signedIn();
    for (const [bad, message] of [
      [form({ name: '' }), 'the name is empty'],
      [form({ name: ' padded' }), 'starts or ends with spaces'],
      [form({ schedule: 'daily 25:00' }), 'is not a time such as 02:30'],
      [form({ schedule: 'every 5x' }), 'is not an interval such as 6h'],
      [form({ schedule: 'sometimes' }), 'not understood'],
      [
        form({
          retention: { keepLast: null, keepWithin: null, keepHourly: null, keepDaily: null, keepWeekly: null, keepMonthly: null, keepYearly: null, deletedItemRetention: '90d' },
        }),
        'has no keep rule',
      ],
      [form({ folders: { include: ['Inbox//Projects'], exclude: [] } }), 'has an empty name'],
      [form({ connection: { ...demo(), auth: 'delegated' } }), 'needs the account'],
    ] as const) {
      const e = await rejection(b.setSave(bad, false));
      expect(e.code).toBe('invalid_input');
      expect(e.message).toContain(message);
    }
    await b.setSave(form(), false);
    const dup = await rejection(b.setSave(form({ name: 'CONTOSO MAIL' }), false));
    expect(dup).toEqual({ code: 'invalid_input', message: 'backup set: a set named "Contoso mail" already exists' });
    // replace: true saves over it.
    const saved = await b.setSave(form({ schedule: 'weekly mon,thu 03:00' }), true);
    expect(saved.schedule).toBe('weekly mon,thu 03:00');
    expect((await b.setGet('contoso mail')).schedule).toBe('weekly mon,thu 03:00');
  });

  it('answers not_found for unknown sets', async () => {
    const b = await signedIn();
    for (const p of [b.setGet('nope'), b.setRemove('nope'), b.setRun('nope', () => {}), b.setStop('nope')]) {
      expect((await rejection(p)).code).toBe('not_found');
    }
  });

  it('runs a set into the open repository with progress, a snapshot and a history row', async () => {
    const b = await signedIn();
    await b.setSave(form({ mailboxes: { allUsers: false, users: ['alice@contoso.example'], filter: null, shared: true }, folders: { include: [], exclude: ['Inbox/Projects'] } }), false);
    const before = (await b.snapshotsList()).length;
    const seen: Progress[] = [];
    const report = await b.setRun('Contoso mail', (p) => seen.push(p));
    expect(report.status).toBe('succeeded');
    expect(seen.at(-1)?.phase).toBe('done');
    expect(new Set(seen.map((p) => p.mailbox).filter(Boolean))).toEqual(new Set(['alice@contoso.example', SHARED_MAILBOX]));
    expect(seen.some((p) => p.folder === 'Inbox/Projects')).toBe(false);
    const snaps = await b.snapshotsList();
    expect(snaps).toHaveLength(before + 1);
    expect(snaps.at(-1)!.id).toBe(report.backup.snapshotId);
    expect(snaps.at(-1)!.mailboxes).toEqual(['alice@contoso.example', SHARED_MAILBOX]);
    const [row] = await b.historyList('Contoso mail', 10);
    expect(row).toMatchObject({ status: 'succeeded', snapshotId: report.backup.snapshotId, trigger: 'manual', items: report.backup.items });
    const [overview] = await b.setsList();
    expect(overview.lastRun?.id).toBe(row.id);
    expect(overview.itemsPerRun).toEqual([report.backup.items]);
    expect(overview.sizeBytes).toBeGreaterThan(0);
    expect(overview.mailboxesLabel).toBe('All shared mailboxes + 1 mailbox');
  });

  it('records failed items as a warning, refuses a second run and a removal while running, and stops on setStop', async () => {
    const gate = deferred();
    let paused = false;
    const b = await signedIn({
      onStep: async (p) => {
        if (p.phase === 'items' && !paused) {
          paused = true;
          await gate.promise;
        }
      },
    });
    await b.setSave(form(), false);
    const run = b.setRun('Contoso mail', () => {});
    await waitFor(() => expect(paused).toBe(true));
    expect((await b.setsList())[0].running).toBe(true);
    expect((await b.historyList(null, 5))[0].status).toBe('running');
    expect((await rejection(b.setRun('contoso mail', () => {}))).code).toBe('already_running');
    expect((await rejection(b.setRemove('Contoso mail'))).code).toBe('already_running');
    await b.setStop('Contoso mail');
    gate.resolve();
    const stopped = await rejection(run);
    expect(stopped.code).toBe('cancelled');
    const [row] = await b.historyList(null, 5);
    expect(row.status).toBe('interrupted');
    expect(row.finished).not.toBeNull();
    expect((await b.setsList())[0].running).toBe(false);

    // The next run completes; bob's throttled message makes it a warning.
    const report = await b.setRun('Contoso mail', () => {});
    expect(report.status).toBe('warning');
    expect(report.backup.failed[0]).toMatchObject({ mailbox: 'bob@contoso.example', itemId: 'AAMk-bob-inbox-3' });
    const [last] = await b.historyList(null, 1);
    expect(runReportDetails(last.report).failed[0].reason).toContain('429');
    await b.setRemove('Contoso mail');
    expect(await b.setsList()).toEqual([]);
  });

  it('a set without its sign-in fails its run, and the dashboard says so', async () => {
    const b = new MockBackend({ open: true });
    await b.setSave(form(), false);
    expect((await b.setsList())[0].warnings.map((w) => w.code)).toEqual(['missing_secret']);
    expect((await rejection(b.setRun('Contoso mail', () => {}))).code).toBe('missing_secret');
    const [row] = await b.historyList(null, 1);
    expect(row.status).toBe('failed');
    expect((await b.setsList())[0].warnings.map((w) => w.code)).toEqual(['missing_secret', 'last_run_failed']);
  });

  it('lists the history newest first, by set, up to the limit; seeds a demo history on request', async () => {
    const b = new MockBackend({ open: true, sets: { seed: true } });
    const all = await b.historyList(null, 200);
    expect(all).toHaveLength(9);
    expect(all.map((r) => r.started)).toEqual([...all.map((r) => r.started)].sort().reverse());
    expect(await b.historyList('support MAILBOX', 200)).toHaveLength(1);
    expect(await b.historyList(null, 3)).toHaveLength(3);
    const sets = await b.setsList();
    expect(sets.map((s) => s.name)).toEqual(['Nightly – all users', 'Support mailbox']);
    expect(sets[0].itemsPerRun).toHaveLength(8);
    expect(sets[0].nextRun).not.toBeNull();
    expect(sets[1].warnings.map((w) => w.code)).toContain('last_run_failed');
  });
});

describe('mock sign-in, permission check and directory', () => {
  it('signs in with the demo app without a secret; another app needs one', async () => {
    const b = new MockBackend({ open: true });
    expect(await b.demoConnection()).toMatchObject({ tenantId: DEMO_TENANT_ID, clientId: DEMO_CLIENT_ID });
    expect((await b.signinApp(demo(), { clientSecret: null, certificatePem: null })).displayName).toContain('demo');
    const other = { ...demo(), clientId: '11111111-2222-3333-4444-555555555555' };
    expect((await rejection(b.signinApp(other, { clientSecret: null, certificatePem: null }))).code).toBe('sign_in');
    await b.signinApp(other, { clientSecret: 's3cret', certificatePem: null });
    expect(b.keychain.get(`app:${DEMO_TENANT_ID}/${other.clientId}`)).toBe('s3cret');
    const cert = { ...other, auth: 'certificate' as const };
    expect((await rejection(b.signinApp(cert, { clientSecret: null, certificatePem: 'junk' }))).code).toBe('sign_in');
  });

  it('device code: sends the prompt, resolves once approved; signinCancel abandons it', async () => {
    const b = new MockBackend({ open: true, sets: { signinDelayMs: 20 } });
    const prompts: string[] = [];
    const who = await b.signinDevice({ ...demo(), auth: 'delegated' }, (p) => prompts.push(p.userCode));
    expect(prompts).toEqual(['QCB7-K4MD']);
    expect(who.account).toBe('admin@contoso.example');
    const waiting = b.signinBrowser({ ...demo(), auth: 'delegated' });
    await b.signinCancel();
    expect((await rejection(waiting)).code).toBe('cancelled');
  });

  it('reports a missing permission with its fix for another app, and once for the demo when asked', async () => {
    const b = new MockBackend({ open: true, sets: { missingPermissionTests: 1 } });
    await b.signinApp(demo(), { clientSecret: null, certificatePem: null });
    const selection = { allUsers: true, users: [], filter: null, shared: false };
    const first = await b.connectionTest(demo(), selection, ['mail', 'tasks']);
    expect(first.problems).toBe(2);
    expect(first.mailboxes.map((m) => m.mailbox)).toEqual(['alice@contoso.example', 'bob@contoso.example']);
    const tasks = first.mailboxes[0].categories.find((c) => c.category === 'tasks')!;
    expect(tasks).toMatchObject({ read: 'missing', missing: ['Tasks.Read.All'] });
    expect(tasks.fix).toBe(
      'In Microsoft Entra admin center > App registrations > QCBackup > API permissions, add Microsoft Graph application permission Tasks.Read.All and grant admin consent.',
    );
    const second = await b.connectionTest(demo(), selection, ['mail', 'tasks']);
    expect(second.problems).toBe(0);
    // Not signed in with this connection: the check cannot run.
    const other = { ...demo(), clientId: '11111111-2222-3333-4444-555555555555' };
    expect((await rejection(b.connectionTest(other, selection, ['mail']))).code).toBe('sign_in');
  });

  it('lists users and the shared mailbox, and the folder tree one level at a time', async () => {
    const b = new MockBackend({ open: true });
    const boxes = await b.directoryMailboxes(demo());
    expect(boxes.map((m) => [m.address, m.shared])).toEqual([
      ['alice@contoso.example', false],
      ['bob@contoso.example', false],
      [SHARED_MAILBOX, true],
    ]);
    const top = await b.directoryFolders(demo(), 'alice@contoso.example', null);
    expect(top.map((f) => f.path)).toEqual(['Inbox', 'Sent Items', 'Archive']);
    expect(top[0].childCount).toBe(2);
    const inbox = await b.directoryFolders(demo(), 'alice@contoso.example', top[0].id);
    expect(inbox.map((f) => f.path)).toEqual(['Inbox/Projects', 'Inbox/Receipts']);
    expect((await rejection(b.directoryFolders(demo(), 'nobody@contoso.example', null))).code).toBe('not_found');
  });

  it('applies folder patterns like the engine', () => {
    const f = { include: ['Inbox'], exclude: ['Inbox/Pro*'] };
    expect(folderVerdict(f, ['Inbox'])).toBe('include');
    expect(folderVerdict(f, ['inbox', 'Receipts'])).toBe('include');
    expect(folderVerdict(f, ['Inbox', 'Projects'])).toBe('exclude');
    expect(folderVerdict(f, ['Sent Items'])).toBe('exclude');
    expect(folderVerdict({ include: ['**/Archive'], exclude: [] }, ['Inbox'])).toBe('container');
    expect(folderVerdict({ include: [], exclude: [] }, ['Anything'])).toBe('include');
  });
});

describe('schedule text', () => {
  it('parses what the engine parses, with its messages', () => {
    for (const ok of ['manual', 'hourly', 'every 6h', 'every 90s', 'every 2d', 'daily 02:30', 'weekdays 22:00', 'weekly mon,thu 01:15']) {
      expect(scheduleError(ok)).toBeNull();
    }
    for (const bad of ['daily', 'daily 25:00', 'every 0h', 'every 5x', 'weekly funday 02:00', '']) {
      expect(scheduleError(bad)).toContain('write manual, every 6h');
    }
    expect(parseSchedule('weekly thu,mon,thu 01:15')).toEqual({ kind: 'at', days: [0, 3], hour: 1, minute: 15 });
  });

  it('round-trips the wizard choices and finds the next run', () => {
    for (const text of ['manual', 'hourly', 'daily 02:30', 'weekly mon,thu 03:00', 'every 6h', 'weekdays 22:00']) {
      expect(scheduleText(scheduleChoice(text))).toBe(text.startsWith('weekdays') ? 'weekly mon,tue,wed,thu,fri 22:00' : text);
    }
    expect(scheduleChoice('every 6h').kind).toBe('custom');
    const from = new Date(2026, 10, 28, 10, 0); // a Saturday
    expect(nextDue(parseSchedule('daily 02:30'), from, null)).toEqual(new Date(2026, 10, 29, 2, 30));
    expect(nextDue(parseSchedule('weekly mon 03:00'), from, null)).toEqual(new Date(2026, 10, 30, 3, 0));
    expect(nextDue(parseSchedule('every 6h'), from, new Date(2026, 10, 28, 8, 0))).toEqual(new Date(2026, 10, 28, 14, 0));
    expect(nextDue(parseSchedule('manual'), from, null)).toBeNull();
  });
});

describe('wizard state', () => {
  it('says why each step cannot be left yet', () => {
    expect(new Wizard({ repository: '/r', demo: null }).blocker('signin')).toBe('Enter the tenant id and the client id.');
    const w = new Wizard({ repository: '/r', demo: demo() });
    expect(w.blocker('name')).toBe('Enter a name.');
    w.name = 'Mail';
    expect(w.blocker('name', ['MAIL'])).toContain('already exists');
    expect(w.blocker('name', ['Other'])).toBeNull();
    // The demo's app is filled in; signing in is what is left.
    expect(w.connection()).toMatchObject({ tenantId: DEMO_TENANT_ID, clientId: DEMO_CLIENT_ID });
    expect(w.blocker('signin')).toBe('Sign in before you go on.');
    w.setSignedIn({ account: null, displayName: 'Contoso' });
    expect(w.blocker('signin')).toBeNull();
    w.clientId = 'changed';
    expect(w.blocker('signin')).toBe('Sign in before you go on.');
    w.useDemo();
    expect(w.blocker('permissions')).toBe('Run the permission check first.');
    w.allUsers = false;
    expect(w.blocker('mailboxes')).toContain('at least one mailbox');
    w.users = ['alice@contoso.example'];
    w.categories = [];
    expect(w.blocker('mailboxes')).toBe('Choose at least one thing to back up.');
    w.schedule = { kind: 'weekly', time: '03:00', days: [], custom: '' };
    expect(w.blocker('schedule')).toBe('Choose at least one day.');
    w.schedule = { kind: 'custom', time: '03:00', days: [], custom: 'every 6x' };
    expect(w.blocker('schedule')).toContain('is not an interval');
    w.retentionPreset = 'custom';
    w.retention = presetFields('all');
    expect(w.blocker('retention')).toContain('at least one keep rule');
    w.retention = { ...presetFields('all'), keepLast: '0' };
    expect(w.blocker('retention')).toContain('whole number');
  });

  it('makes the SetForm of the choices, and is prefilled from a saved set', () => {
    const w = new Wizard({ repository: '/r', demo: demo() });
    w.name = 'Mail';
    w.useDemo();
    w.setSignedIn({ account: null, displayName: 'Contoso' });
    w.allUsers = false;
    w.shared = true;
    w.users = ['alice@contoso.example'];
    w.categories = ['tasks', 'mail'];
    w.folderMarks = { 'Inbox/Projects': 'exclude', Inbox: 'include' };
    w.schedule = { kind: 'weekly', time: '03:15', days: ['thu', 'mon'], custom: '' };
    w.retentionPreset = 'long';
    w.retention = presetFields('long');
    const f = w.form();
    expect(f).toMatchObject({
      name: 'Mail',
      repository: '/r',
      schedule: 'weekly mon,thu 03:15',
      connection: { tenantId: DEMO_TENANT_ID, clientId: DEMO_CLIENT_ID, auth: 'client-secret', account: null },
      mailboxes: { allUsers: false, users: ['alice@contoso.example'], filter: null, shared: true },
      categories: ['mail', 'tasks'],
      folders: { include: ['Inbox'], exclude: ['Inbox/Projects'] },
      retention: { keepDaily: 7, keepWeekly: 4, keepMonthly: 12, keepYearly: 5, keepLast: null },
    });
    const again = new Wizard({ repository: '/other', demo: null, form: f });
    expect(again.editing).toBe(true);
    expect(again.isSignedIn).toBe(true);
    expect(again.blocker('permissions')).toBeNull();
    expect(again.retentionPreset).toBe('long');
    expect(again.form()).toEqual(f);
    expect(presetOf(null)).toBe('all');
    expect(retentionFrom('custom', { ...presetFields('all'), keepWithin: '30d' }).policy?.keepWithin).toBe('30d');
  });

  it('a delegated sign-in carries the account it signed in with', () => {
    const w = new Wizard({ repository: '/r', demo: demo() });
    w.useDemo();
    w.method = 'device';
    w.setSignedIn({ account: 'admin@contoso.example', displayName: 'Megan Bowen' });
    expect(w.connection()).toMatchObject({ auth: 'delegated', account: 'admin@contoso.example' });
    expect(w.isSignedIn).toBe(true);
  });
});

describe('sets store', () => {
  it('attributes progress to mailboxes, keeps the report, and refreshes the list and snapshots', async () => {
    const b = await signedIn();
    await b.setSave(form(), false);
    let snapshotsRefreshed = 0;
    const shown: unknown[] = [];
    const store = new SetsStore(b, { show: (e) => shown.push(e), clear: () => {} }, () => {
      snapshotsRefreshed++;
    });
    await store.refresh();
    expect(store.list?.map((s) => s.name)).toEqual(['Contoso mail']);
    await store.run('Contoso mail');
    const run = store.runOf('contoso mail')!;
    expect(run.running).toBe(false);
    expect(run.report?.status).toBe('warning');
    expect(run.mailboxes.map((m) => m.mailbox)).toEqual(['alice@contoso.example', 'bob@contoso.example']);
    expect(run.mailboxes.reduce((n, m) => n + m.items, 0)).toBe(run.progress!.itemsDone);
    expect(run.mailboxes.every((m) => m.done || m.mailbox === 'bob@contoso.example')).toBe(true);
    expect(snapshotsRefreshed).toBe(1);
    expect(store.list?.[0].lastRun?.status).toBe('warning');
    expect(shown).toEqual([]);
    store.dismiss('Contoso mail');
    expect(store.runOf('Contoso mail')).toBeUndefined();
  });

  it('a stopped run is an outcome, not an error banner', async () => {
    const gate = deferred();
    let paused = false;
    const b = await signedIn({
      onStep: async (p) => {
        if (p.phase === 'items' && !paused) {
          paused = true;
          await gate.promise;
        }
      },
    });
    await b.setSave(form(), false);
    const shown: unknown[] = [];
    const store = new SetsStore(b, { show: (e) => shown.push(e), clear: () => {} }, () => {});
    const done = store.run('Contoso mail');
    await waitFor(() => expect(paused).toBe(true));
    expect(store.running.map((r) => r.name)).toEqual(['Contoso mail']);
    await store.stop('Contoso mail');
    expect(store.runOf('Contoso mail')?.stopping).toBe(true);
    gate.resolve();
    await done;
    expect(store.runOf('Contoso mail')?.outcome).toBe('stopped');
    expect(shown).toEqual([]);
    expect(store.running).toEqual([]);
  });
});

describe('dashboard, wizard and history screens', () => {
  it('starts on an empty dashboard that opens the wizard; Next is disabled with its reason', async () => {
    const { container } = await renderApp(new MockBackend({ open: true }));
    await waitFor(() => expect(container.querySelector('#sets-empty')).not.toBeNull());
    await fireEvent.click($(container, '#sets-create-empty'));
    await waitFor(() => expect(container.querySelector('#wizard-step-name')).not.toBeNull());
    const nextButton = $(container, '#wizard-next') as HTMLButtonElement;
    expect(nextButton.disabled).toBe(true);
    expect($(container, '#wizard-next-reason').textContent).toBe('Enter a name.');
    await type($(container, '#wizard-name'), 'Mail');
    await waitFor(() => expect(nextButton.disabled).toBe(false));
    await fireEvent.click(nextButton);
    await waitFor(() => expect(container.querySelector('#wizard-step-signin')).not.toBeNull());
    expect(document.activeElement?.id).toBe('wizard-step-heading');
    expect($(container, '#wizard-stepper [aria-current="step"]').dataset.step).toBe('signin');
    // Another app needs its secret: the identity platform's reason is shown by the button.
    await type($(container, '#signin-client'), '11111111-2222-3333-4444-555555555555');
    await fireEvent.click($(container, '#signin-submit'));
    await waitFor(() => expect(container.querySelector('#signin-error')).not.toBeNull());
    expect($(container, '#signin-error').textContent).toContain('AADSTS7000216');
    expect($(container, '#error .error-code').textContent).toBe('sign_in');
    // One click on the demo tenant signs in.
    await fireEvent.click($(container, '#wizard-use-demo'));
    await waitFor(() => expect(container.querySelector('#signin-status')).not.toBeNull());
    expect(($(container, '#wizard-next') as HTMLButtonElement).disabled).toBe(false);
    // Cancel goes back to the dashboard.
    await fireEvent.click($(container, '#wizard-cancel'));
    await waitFor(() => expect(container.querySelector('#sets-empty')).not.toBeNull());
  });

  it('shows the sets with sparkline and warnings; a run keeps going on other screens and reports back', async () => {
    const gate = deferred();
    let paused = false;
    const backend = new MockBackend({
      open: true,
      sets: { seed: true },
      onStep: async (p) => {
        if (p.phase === 'items' && !paused) {
          paused = true;
          await gate.promise;
        }
      },
    });
    const { container } = await renderApp(backend);
    await waitFor(() => expect($$(container, '[data-testid="set-card"]')).toHaveLength(2));
    const nightly = $(container, '[data-set-name="Nightly – all users"]');
    expect($(nightly, '[data-testid="set-sparkline"]').getAttribute('data-points')).toBe('8');
    expect($(nightly, '[data-testid="set-sparkline"]').getAttribute('role')).toBe('img');
    expect($(container, '[data-set-name="Support mailbox"] [data-testid="set-warnings"]').textContent).toContain('expired');
    await fireEvent.click($(nightly, '[data-testid="set-run"]'));
    await waitFor(() => expect(paused).toBe(true));
    await waitFor(() => expect(container.querySelector('[data-testid="set-progress-bar"][value]')).not.toBeNull());
    expect($(container, '[data-testid="set-progress-status"]').textContent).toContain('items');
    await goTo(container, 'settings');
    expect($(container, '#job-status').textContent).toMatch(/Backing up 1 set \d+%/);
    gate.resolve();
    await waitFor(() => expect(container.querySelector('#job-status')).toBeNull());
    await goTo(container, 'dashboard');
    await waitFor(() => expect(container.querySelector('[data-testid="set-report"]')).not.toBeNull());
    expect($(container, '[data-testid="set-report"]').textContent).toContain('AAMk-bob-inbox-3');
    await waitFor(() =>
      expect($(container, '[data-set-name="Nightly – all users"] [data-testid="set-sparkline"]').getAttribute('data-points')).toBe('9'),
    );
  });

  it('shows Exchange throttling waits as such while a set runs, per mailbox', async () => {
    const gate = deferred();
    let paused = false;
    const backend = await signedIn({
      onStep: async (p) => {
        if (p.throttledNow && !paused) {
          paused = true;
          await gate.promise;
        }
      },
    });
    await backend.setSave(form(), false);
    const { container } = await renderApp(backend);
    await waitFor(() => expect(container.querySelector('[data-testid="set-run"]')).not.toBeNull());
    await fireEvent.click($(container, '[data-testid="set-run"]'));
    await waitFor(() => expect(container.querySelector('[data-testid="set-progress-throttled"]')).not.toBeNull());
    expect($(container, '[data-testid="set-progress-throttled"]').textContent).toContain('Exchange Online is throttling: 1 request waits');
    expect($(container, '[data-testid="set-progress-status"]').textContent).toContain('throttling');
    const rows = $$(container, '[data-testid="set-progress-mailboxes"] tr[data-mailbox]');
    expect(rows.map((r) => r.dataset.mailbox)).toEqual(['alice@contoso.example', 'bob@contoso.example']);
    expect(rows[0].textContent).toContain('Done');
    expect(rows[1].textContent).toContain('Inbox');
    gate.resolve();
    await waitFor(() => expect(container.querySelector('[data-testid="set-report"]')).not.toBeNull());
    expect(container.querySelector('[data-testid="set-progress-throttled"]')).toBeNull();
  });

  it('history: newest first, filtered by set, with a detail view of a run', async () => {
    const { container } = await renderApp(new MockBackend({ open: true, sets: { seed: true } }), 'history');
    await waitFor(() => expect($$(container, '[data-testid="history-row"]')).toHaveLength(9));
    const filter = $(container, '#history-filter') as HTMLSelectElement;
    filter.value = 'Support mailbox';
    await fireEvent.change(filter);
    await waitFor(() => expect($$(container, '[data-testid="history-row"]')).toHaveLength(1));
    expect($(container, '[data-testid="history-row"]').dataset.status).toBe('failed');
    await fireEvent.click($(container, '[data-testid="history-open"]'));
    await waitFor(() => expect(container.querySelector('#history-detail')).not.toBeNull());
    expect($(container, '#history-message').textContent).toContain('AADSTS7000222');
    await fireEvent.click($(container, '#history-back'));
    await waitFor(() => expect(container.querySelector('#history-table')).not.toBeNull());
  });
});

describe('backup sets through the Tauri backend (mockIPC)', () => {
  const info = {
    version: '1.2.3',
    demoTenant: true,
    graphUrl: 'http://127.0.0.1:9999/v1.0',
    defaultRepoPath: '/data/qcb',
    repo: { id: 'ab'.repeat(32), path: '/data/qcb', snapshotCount: 0 },
  };
  const overview = (running: boolean): SetOverview => ({
    name: 'Mail',
    runOn: 'client',
    schedule: 'daily 02:30',
    repository: '/data/qcb',
    mailboxesLabel: 'All users',
    categories: ['mail'],
    lastRun: null,
    nextRun: '2026-11-29T02:30:00Z',
    sizeBytes: null,
    itemsPerRun: [],
    running,
    warnings: [{ code: 'signin_expired', message: 'Sign in again: the refresh token expired.' }],
  });
  const send = <T>(channel: Channel<T>, index: number, message: T) =>
    (window.__TAURI_INTERNALS__ as { runCallback: (id: number, data: unknown) => void }).runCallback(channel.id, { index, message });

  it('runs a set with set_run { name, onProgress } and shows the channel progress, then the report', async () => {
    const calls: { cmd: string; args: Record<string, unknown> }[] = [];
    let channel: Channel<Progress> | undefined;
    const finish = deferred<unknown>();
    let running = false;
    mockIPC((cmd, args) => {
      calls.push({ cmd, args: args as Record<string, unknown> });
      switch (cmd) {
        case 'app_info':
          return info;
        case 'sets_list':
          return [overview(running)];
        case 'set_run':
          running = true;
          channel = (args as { onProgress: Channel<Progress> }).onProgress;
          return finish.promise;
        case 'set_stop':
          return null;
      }
      return null;
    });
    const { container } = await renderApp(new TauriBackend());
    await waitFor(() => expect(container.querySelector('[data-set-name="Mail"]')).not.toBeNull());
    expect($(container, '[data-testid="set-warnings"]').textContent).toContain('refresh token expired');
    await fireEvent.click($(container, '[data-testid="set-run"]'));
    await waitFor(() => expect(channel).toBeDefined());
    expect(calls.find((c) => c.cmd === 'set_run')?.args.name).toBe('Mail');
    send(channel!, 0, { ...progressStart(10), phase: 'items', mailbox: 'alice@contoso.example', folder: 'Inbox', itemsDone: 5, bytesDone: 2048 });
    await waitFor(() => expect($(container, '[data-testid="set-progress-bar"]').getAttribute('value')).toBe('5'));
    expect($(container, '[data-testid="set-progress-where"]').textContent).toBe('alice@contoso.example / Inbox');
    await fireEvent.click($(container, '[data-testid="set-stop"]'));
    await waitFor(() => expect(calls.some((c) => c.cmd === 'set_stop')).toBe(true));
    expect(calls.find((c) => c.cmd === 'set_stop')?.args).toEqual({ name: 'Mail' });
    running = false;
    finish.reject({ code: 'cancelled', message: 'The backup was stopped.' });
    await waitFor(() => expect(container.querySelector('[data-testid="set-outcome"][data-outcome="stopped"]')).not.toBeNull());
    expect(container.querySelector('#error')).toBeNull();
  });

  it('shows the device code from signin_device { connection, onPrompt }', async () => {
    let prompt: Channel<unknown> | undefined;
    const approved = deferred<unknown>();
    const demoConnection: SetConnection = { ...demo(), graphUrl: info.graphUrl, authority: 'http://127.0.0.1:9999' };
    const calls: { cmd: string; args: Record<string, unknown> }[] = [];
    mockIPC((cmd, args) => {
      calls.push({ cmd, args: args as Record<string, unknown> });
      switch (cmd) {
        case 'app_info':
          return info;
        case 'sets_list':
          return [];
        case 'demo_connection':
          return demoConnection;
        case 'signin_device':
          prompt = (args as { onPrompt: Channel<unknown> }).onPrompt;
          return approved.promise;
      }
      return null;
    });
    const { container } = await renderApp(new TauriBackend());
    await waitFor(() => expect(container.querySelector('#sets-create-empty')).not.toBeNull());
    await fireEvent.click($(container, '#sets-create-empty'));
    await waitFor(() => expect(container.querySelector('#wizard-name')).not.toBeNull());
    await type($(container, '#wizard-name'), 'Mine');
    await fireEvent.click($(container, '#wizard-next'));
    await waitFor(() => expect(container.querySelector('#signin-device')).not.toBeNull());
    await fireEvent.click($(container, '#signin-device'));
    await fireEvent.click($(container, '#signin-submit'));
    await waitFor(() => expect(prompt).toBeDefined());
    expect(calls.find((c) => c.cmd === 'signin_device')?.args.connection).toEqual({ ...demoConnection, auth: 'delegated', account: null });
    send(prompt!, 0, { userCode: 'ABCD-EFGH', verificationUri: 'https://microsoft.com/devicelogin', expiresInSeconds: 900, message: '' });
    await waitFor(() => expect(container.querySelector('#device-user-code')).not.toBeNull());
    expect($(container, '#device-user-code').textContent).toBe('ABCD-EFGH');
    approved.resolve({ account: 'megan@contoso.example', displayName: 'Megan' });
    await waitFor(() => expect(container.querySelector('#signin-status')).not.toBeNull());
    expect($(container, '#signin-status').textContent).toContain('megan@contoso.example');
    expect(($(container, '#wizard-next') as HTMLButtonElement).disabled).toBe(false);
  });
});

describe('mailbox step with a large tenant', () => {
  it('draws at most 200 rows, says how many match, and selects every match', async () => {
    const backend = await signedIn();
    const many = Array.from({ length: 1200 }, (_, i) => ({
      id: `u${i}`,
      address: `user${String(i).padStart(4, '0')}@contoso.example`,
      displayName: `User ${String(i).padStart(4, '0')}`,
      shared: false,
    }));
    backend.directoryMailboxes = async () => many;
    const { container } = await renderApp(backend);
    await waitFor(() => expect(container.querySelector('#sets-create-empty')).not.toBeNull());
    await fireEvent.click($(container, '#sets-create-empty'));
    await waitFor(() => expect(container.querySelector('#wizard-name')).not.toBeNull());
    await type($(container, '#wizard-name'), 'Big');
    for (const step of ['signin', 'permissions', 'mailboxes']) {
      if (step === 'permissions') {
        await fireEvent.click($(container, '#wizard-use-demo'));
        await waitFor(() => expect(container.querySelector('#signin-status')).not.toBeNull());
      }
      await waitFor(() => expect(($(container, '#wizard-next') as HTMLButtonElement).disabled).toBe(false));
      await fireEvent.click($(container, '#wizard-next'));
      await waitFor(() => expect(container.querySelector(`#wizard-step-${step}`)).not.toBeNull());
    }
    await waitFor(() => expect($$(container, '[data-testid="mailbox-option"]')).toHaveLength(200));
    expect($(container, '#mailbox-more').textContent).toContain('Showing 200 of 1,200');
    await type($(container, '#mailbox-search'), 'user0');
    await waitFor(() => expect($(container, '#mailbox-more').textContent).toContain('Showing 200 of 1,000'));
    await fireEvent.click($(container, '#mailbox-select-all'));
    expect($(container, '#mailbox-selected-count').textContent).toBe('1,000 mailboxes selected');
    await type($(container, '#mailbox-search'), 'user0001');
    await waitFor(() => expect($$(container, '[data-testid="mailbox-option"]')).toHaveLength(1));
    expect(container.querySelector('#mailbox-more')).toBeNull();
  });
});
