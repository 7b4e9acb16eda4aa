// Settings of the desktop app: notifications, tray, start at login and the log folder — on the
// mock and through the real Tauri backend (mockIPC).
import { describe, expect, it, vi } from 'vitest';
import { fireEvent, waitFor } from '@testing-library/svelte';
import { mockIPC } from '@tauri-apps/api/mocks';
import { getBackend } from '../src/lib/backend';
import { DEMO_LOG_DIR, MockBackend } from '../src/lib/backend/mock';
import { DEFAULT_SETTINGS, type AppInfo } from '../src/lib/backend/types';
import { normalizeSettings } from '../src/lib/settings/normalize';
import { $, renderApp } from './helpers';

const checkbox = (container: HTMLElement, id: string) => $(container, id) as HTMLInputElement;

describe('desktop settings', () => {
  it('defaults: no success notifications, close to the tray, no start at login; normalise keeps booleans only', () => {
    expect(DEFAULT_SETTINGS).toMatchObject({ notifyOnSuccess: false, closeToTray: true, startAtLogin: false });
    expect(normalizeSettings({ theme: 'dark', concurrency: 2, logLevel: 'info' })).toEqual({
      ...DEFAULT_SETTINGS,
      theme: 'dark',
      concurrency: 2,
    });
    expect(normalizeSettings({ ...DEFAULT_SETTINGS, notifyOnSuccess: true, closeToTray: 'no', startAtLogin: 1 })).toEqual({
      ...DEFAULT_SETTINGS,
      notifyOnSuccess: true,
    });
  });

  it('the screen shows the toggles with their descriptions and saves them', async () => {
    const backend = new MockBackend();
    const settingsSet = vi.spyOn(backend, 'settingsSet');
    const { container } = await renderApp(backend, 'settings');
    expect(checkbox(container, '#settings-notify-success').checked).toBe(false);
    expect(checkbox(container, '#settings-close-to-tray').checked).toBe(true);
    expect(checkbox(container, '#settings-start-at-login').checked).toBe(false);
    for (const id of ['settings-notify-success', 'settings-close-to-tray', 'settings-start-at-login']) {
      expect($(container, `label[for="${id}"]`).textContent).not.toBe('');
      const hint = $(container, `#${id}`).getAttribute('aria-describedby')!;
      expect($(container, `#${hint}`).textContent).not.toBe('');
    }
    expect($(container, '#settings-notify-success-hint').textContent).toContain('always');
    await fireEvent.click($(container, '#settings-notify-success'));
    await fireEvent.click($(container, '#settings-close-to-tray'));
    await fireEvent.click($(container, '#settings-start-at-login'));
    await fireEvent.submit($(container, '#settings-form'));
    await waitFor(() => expect($(container, '#settings-saved').textContent).toContain('Settings saved'));
    expect(settingsSet).toHaveBeenCalledWith({ ...DEFAULT_SETTINGS, notifyOnSuccess: true, closeToTray: false, startAtLogin: true });
    expect(await backend.settingsGet()).toMatchObject({ notifyOnSuccess: true, closeToTray: false, startAtLogin: true });
  });

  it('shows the log folder and opens it; a failure goes to the error banner', async () => {
    const backend = new MockBackend();
    const { container } = await renderApp(backend, 'settings');
    expect($(container, '#settings-log-dir').textContent).toBe(DEMO_LOG_DIR);
    await fireEvent.click($(container, '#settings-open-logs'));
    await waitFor(() => expect(backend.logFolderOpened).toBe(1));
    expect(container.querySelector('#error')).toBeNull();
    vi.spyOn(backend, 'openLogFolder').mockRejectedValueOnce({ code: 'internal', message: 'the file manager could not be opened' });
    await fireEvent.click($(container, '#settings-open-logs'));
    await waitFor(() => expect($(container, '#error').textContent).toContain('the file manager could not be opened'));
  });
});

describe('desktop settings through the Tauri backend (mockIPC)', () => {
  const INFO: AppInfo = {
    version: '1.2.3',
    demoTenant: false,
    graphUrl: 'https://graph.microsoft.com/v1.0',
    defaultRepoPath: '/home/user/QCBackup',
    logDir: '/home/user/.local/share/com.qcbackup.manager/logs',
    repo: null,
  };

  it('sends the new fields with settings_set and invokes open_log_folder without arguments', async () => {
    const calls: { cmd: string; args: unknown }[] = [];
    mockIPC((cmd, args) => {
      calls.push({ cmd, args });
      switch (cmd) {
        case 'app_info':
          return INFO;
        case 'settings_get':
          return { theme: 'system', concurrency: 4, logLevel: 'info', notifyOnSuccess: false, closeToTray: true, startAtLogin: false };
        case 'settings_set':
          return (args as { settings: unknown }).settings;
        case 'open_log_folder':
          return null;
      }
      throw { code: 'internal', message: `unexpected ${cmd}` };
    });
    const { container } = await renderApp(getBackend(), 'settings');
    expect($(container, '#settings-log-dir').textContent).toBe(INFO.logDir);
    await fireEvent.click($(container, '#settings-notify-success'));
    await fireEvent.click($(container, '#settings-start-at-login'));
    await fireEvent.submit($(container, '#settings-form'));
    await waitFor(() => expect(calls.some((c) => c.cmd === 'settings_set')).toBe(true));
    expect(calls.find((c) => c.cmd === 'settings_set')?.args).toEqual({
      settings: { theme: 'system', concurrency: 4, logLevel: 'info', notifyOnSuccess: true, closeToTray: true, startAtLogin: true },
    });
    await fireEvent.click($(container, '#settings-open-logs'));
    await waitFor(() => expect(calls.some((c) => c.cmd === 'open_log_folder')).toBe(true));
    expect(calls.find((c) => c.cmd === 'open_log_folder')?.args).toEqual({});
    expect(container.querySelector('#error')).toBeNull();
  });

  it('invokes item_versions with { itemId }', async () => {
    const calls: { cmd: string; args: unknown }[] = [];
    const versions = [
      { snapshotId: 'ab'.repeat(32), shortId: 'abababab', time: '2025-03-01T10:00:00Z', path: '/a@x/Inbox/m%2F1', size: 10, subject: 'Hi', changed: true },
    ];
    mockIPC((cmd, args) => {
      calls.push({ cmd, args });
      return cmd === 'item_versions' ? versions : null;
    });
    await expect(getBackend().itemVersions('m/1')).resolves.toEqual(versions);
    expect(calls).toEqual([{ cmd: 'item_versions', args: { itemId: 'm/1' } }]);
  });
});
