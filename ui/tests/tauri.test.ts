// Exercises the real Tauri backend (src/lib/backend/tauri.ts: invoke + Channel)
// against @tauri-apps/api's IPC mock.
import { describe, expect, it } from 'vitest';
import { fireEvent, waitFor } from '@testing-library/svelte';
import { mockIPC } from '@tauri-apps/api/mocks';
import type { Channel } from '@tauri-apps/api/core';
import { getBackend } from '../src/lib/backend';
import { progressStart } from '../src/lib/backend/mock';
import { TauriBackend } from '../src/lib/backend/tauri';
import type { AppInfo, BackupReport, Browse, Progress, Snapshot } from '../src/lib/backend/types';
import { formatBytes } from '../src/lib/format';
import { $, $$, deferred, renderApp, type } from './helpers';

type Call = { cmd: string; args: Record<string, unknown> | undefined };

const REPO = { id: 'f00dfeed'.repeat(8), path: '/data/qcb', snapshotCount: 1, keychainWarning: null };
const SNAP: Snapshot = {
  id: 'ab12cd34'.repeat(8),
  shortId: 'ab12cd34',
  time: '2025-03-01T10:00:00Z',
  hostname: 'host-a',
  mailboxes: ['alice@contoso.example'],
  itemCount: 2,
  sizeBytes: 4096,
};
const INFO: AppInfo = {
  version: '1.2.3',
  demoTenant: true,
  graphUrl: 'http://127.0.0.1:9999/v1.0',
  defaultRepoPath: '/home/user/QCBackup',
  logDir: '/home/user/.local/share/qcb/logs',
  repo: REPO,
};

/** Sends one message through a Channel exactly as the Rust side does (indexed). */
function send<T>(channel: Channel<T>, index: number, message: T) {
  const internals = window.__TAURI_INTERNALS__ as { runCallback: (id: number, data: unknown) => void };
  internals.runCallback(channel.id, { index, message });
}

describe('Tauri backend through mockIPC', () => {
  it('is picked by getBackend() inside Tauri', () => {
    expect(getBackend()).not.toBeInstanceOf(TauriBackend);
    mockIPC(() => null);
    expect(getBackend()).toBeInstanceOf(TauriBackend);
  });

  it('uses the command names and camelCase arguments of the contract', async () => {
    const calls: Call[] = [];
    mockIPC((cmd, args) => {
      calls.push({ cmd, args: args as Record<string, unknown> });
      switch (cmd) {
        case 'app_info':
          return INFO;
        case 'sets_list':
          return [];
        case 'snapshots_list':
          return [SNAP];
        case 'snapshot_browse': {
          const path = (args as { path: string }).path;
          const browse: Browse =
            path === ''
              ? {
                  snapshotId: SNAP.id,
                  path,
                  folders: [{ name: 'alice@contoso.example', path: '/alice@contoso.example', itemCount: 2, childCount: 1 }],
                  items: [],
                }
              : {
                  snapshotId: SNAP.id,
                  path,
                  folders: [],
                  items: [
                    {
                      id: 'msg-1',
                      subject: 'Hello from IPC',
                      from: 'Lee <lee@contoso.example>',
                      receivedDateTime: '2025-02-28T08:00:00Z',
                      size: 1234,
                      isRead: false,
                      hasAttachments: true,
                    },
                  ],
                };
          return browse;
        }
      }
      throw { code: 'internal', message: `unexpected ${cmd}` };
    });

    const { container } = await renderApp(getBackend(), 'snapshots');
    await waitFor(() => expect($$(container, '.snapshot-row')).toHaveLength(1));
    expect($(container, 'header').textContent).toContain('/data/qcb');
    expect($(container, 'header').textContent).toContain('http://127.0.0.1:9999/v1.0');
    await fireEvent.click($(container, '.snapshot-row'));
    await waitFor(() => expect(container.querySelector('.folder-row')).not.toBeNull());
    await fireEvent.click($(container, '.folder-row'));
    await waitFor(() => expect($(container, '.item-row').textContent).toContain('Hello from IPC'));

    const browseCalls = calls.filter((c) => c.cmd !== 'settings_get');
    // The app starts on the dashboard (sets_list), then the test goes to the snapshots.
    expect(browseCalls.map((c) => c.cmd)).toEqual(['app_info', 'sets_list', 'snapshots_list', 'snapshot_browse', 'snapshot_browse']);
    expect(browseCalls[3].args).toEqual({ snapshotId: SNAP.id, path: '' });
    expect(browseCalls[4].args).toEqual({ snapshotId: SNAP.id, path: '/alice@contoso.example' });
    // Settings are read once at start-up; their failure here (unknown command) is not an error banner.
    expect(calls.filter((c) => c.cmd === 'settings_get')).toHaveLength(1);
    expect(container.querySelector('#error')).toBeNull();

    // Selecting a message asks item_preview for its path (folder path + id).
    await fireEvent.click($(container, '.item-row'));
    await waitFor(() => expect(calls.at(-1)?.cmd).toBe('item_preview'));
    expect(calls.at(-1)?.args).toEqual({ snapshotId: SNAP.id, path: '/alice@contoso.example/msg-1' });
  });

  it('sends repo_open with { args: RepoOpenArgs } and shows its ApiError rejection', async () => {
    const calls: Call[] = [];
    mockIPC((cmd, args) => {
      calls.push({ cmd, args: args as Record<string, unknown> });
      if (cmd === 'app_info') return { ...INFO, repo: null };
      if (cmd === 'repo_open') throw { code: 'wrong_password', message: 'The password is wrong.' };
      return null;
    });
    const { container } = await renderApp(new TauriBackend());
    expect(($(container, '#repo-path') as HTMLInputElement).value).toBe('/home/user/QCBackup');
    await fireEvent.click($(container, '#mode-open'));
    await type($(container, '#repo-password'), 'hunter2');
    await fireEvent.click($(container, '#repo-submit'));
    await waitFor(() => expect(container.querySelector('#error')).not.toBeNull());
    expect($(container, '#error').textContent).toContain('The password is wrong.');
    expect($(container, '#error .error-code').textContent).toBe('wrong_password');
    expect(calls.find((c) => c.cmd === 'repo_open')).toEqual({
      cmd: 'repo_open',
      args: {
        args: {
          location: { kind: 'local', path: '/home/user/QCBackup' },
          password: 'hunter2',
          create: false,
          remember: true,
          s3SecretAccessKey: null,
        },
      },
    });
  });

  it('shows a plain-string rejection as an internal error', async () => {
    mockIPC(() => {
      throw 'backend exploded';
    });
    const { container } = await renderApp(new TauriBackend());
    expect($(container, '#error').textContent).toContain('backend exploded');
    expect($(container, '#error .error-code').textContent).toBe('internal');
  });

  it('streams backup_run progress through a Channel and shows the report', async () => {
    const finish = deferred<BackupReport>();
    let channel: Channel<Progress> | undefined;
    let listCalls = 0;
    mockIPC((cmd, args) => {
      switch (cmd) {
        case 'app_info':
          return INFO;
        case 'snapshots_list':
          listCalls++;
          return listCalls === 1 ? [SNAP] : [SNAP, { ...SNAP, id: 'ee'.repeat(32), shortId: 'eeeeeeee', time: '2025-03-02T10:00:00Z' }];
        case 'backup_run':
          channel = (args as { onProgress: Channel<Progress> }).onProgress;
          return finish.promise;
      }
      return null;
    });
    const { container } = await renderApp(new TauriBackend(), 'snapshots');
    await waitFor(() => expect($$(container, '.snapshot-row')).toHaveLength(1));
    await fireEvent.click($(container, '#backup-now'));
    await waitFor(() => expect(channel).toBeDefined());
    // The argument is serialised as a channel reference for the Rust side.
    expect(JSON.stringify({ onProgress: channel })).toMatch(/"__CHANNEL__:\d+"/);

    const progress: Progress = {
      ...progressStart(20),
      phase: 'items',
      mailbox: 'alice@contoso.example',
      folder: 'Inbox/Projects',
      itemsDone: 7,
      itemsTotal: 20,
      bytesDone: 3 * 1024 * 1024,
    };
    send(channel!, 0, { ...progress, phase: 'listing', itemsDone: 0, itemsTotal: 0, bytesDone: 0 });
    // Out of order: index 2 waits for index 1.
    send(channel!, 2, { ...progress, itemsDone: 12 });
    send(channel!, 1, progress);
    await waitFor(() => expect($(container, '#backup-progress').getAttribute('value')).toBe('12'));
    expect($(container, '#backup-progress').getAttribute('max')).toBe('20');
    expect($(container, '.backup-running').textContent).toContain('alice@contoso.example / Inbox/Projects');
    expect($(container, '.backup-running').textContent).toContain(formatBytes(3 * 1024 * 1024));
    expect(($(container, '#backup-now') as HTMLButtonElement).disabled).toBe(true);

    finish.resolve({
      snapshotId: 'ee'.repeat(32),
      mailboxes: 1,
      folders: 3,
      items: 20,
      itemsFetched: 19,
      bytesAdded: 2_500_000,
      failed: [{ mailbox: 'alice@contoso.example', folder: 'Inbox', itemId: 'AAMk-x', reason: 'item too large' }],
      durationMs: 4200,
    });
    await waitFor(() => expect(container.querySelector('#backup-report')).not.toBeNull());
    const card = $(container, '#backup-report');
    expect(card.textContent).toContain('eeeeeeee');
    expect($(card, '[data-stat="items-fetched"]').textContent).toBe('19');
    expect($(card, '[data-stat="bytes-added"]').textContent).toBe(formatBytes(2_500_000));
    expect($(card, '.failed-item').textContent).toContain('item too large');
    await waitFor(() => expect($$(container, '.snapshot-row')).toHaveLength(2));
    expect($$(container, '.snapshot-row')[0].dataset.snapshotId).toBe('ee'.repeat(32));
    // A late channel message after completion does not bring the bar back.
    send(channel!, 3, { ...progress, phase: 'done', itemsDone: 20 });
    expect(container.querySelector('#backup-progress')).toBeNull();
  });

  it('reads settings with settings_get at start-up and saves them with settings_set { settings }', async () => {
    const calls: Call[] = [];
    mockIPC((cmd, args) => {
      calls.push({ cmd, args: args as Record<string, unknown> });
      switch (cmd) {
        case 'app_info':
          return INFO;
        case 'snapshots_list':
          return [SNAP];
        case 'settings_get':
          return { theme: 'light', concurrency: 3, logLevel: 'warn', notifyOnSuccess: true, closeToTray: false, startAtLogin: false };
        case 'settings_set':
          return (args as { settings: unknown }).settings;
      }
      return null;
    });
    const { container } = await renderApp(new TauriBackend());
    await waitFor(() => expect(calls.some((c) => c.cmd === 'settings_get')).toBe(true));
    expect(calls.find((c) => c.cmd === 'settings_get')?.args).toEqual({});
    await fireEvent.click($(container, '#nav-settings'));
    await waitFor(() => expect(($(container, '#settings-concurrency') as HTMLInputElement).value).toBe('3'));
    expect(($(container, '#theme-light') as HTMLInputElement).checked).toBe(true);
    await type($(container, '#settings-concurrency'), '5');
    await fireEvent.submit($(container, '#settings-form'));
    await waitFor(() => expect(calls.some((c) => c.cmd === 'settings_set')).toBe(true));
    expect(calls.find((c) => c.cmd === 'settings_set')?.args).toEqual({
      settings: { theme: 'light', concurrency: 5, logLevel: 'warn', notifyOnSuccess: true, closeToTray: false, startAtLogin: false },
    });
    expect(document.documentElement.dataset.theme).toBe('light');
  });

  it('invokes item_preview with { snapshotId, path }', async () => {
    const calls: Call[] = [];
    mockIPC((cmd, args) => {
      calls.push({ cmd, args: args as Record<string, unknown> });
      return { subject: 's', from: 'f', to: [], cc: [], date: '2025-01-01T00:00:00Z', text: 't', attachments: [] };
    });
    const preview = await new TauriBackend().itemPreview(SNAP.id, '/a@b/Inbox/AAMk%2F1');
    expect(preview.subject).toBe('s');
    expect(calls).toEqual([{ cmd: 'item_preview', args: { snapshotId: SNAP.id, path: '/a@b/Inbox/AAMk%2F1' } }]);
  });
});

