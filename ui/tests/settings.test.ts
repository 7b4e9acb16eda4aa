import { describe, expect, it, vi } from 'vitest';
import { fireEvent, waitFor } from '@testing-library/svelte';
import { MockBackend } from '../src/lib/backend/mock';
import { DEFAULT_SETTINGS, type Settings } from '../src/lib/backend/types';
import { SettingsStore } from '../src/lib/settings/settings.svelte';
import { $, $$, deferred, renderApp, type } from './helpers';

/** A matchMedia stand-in whose prefers-color-scheme the test switches. */
function fakeColorScheme(dark: boolean) {
  const listeners = new Set<() => void>();
  const media = {
    get matches() {
      return dark;
    },
    addEventListener: (_: string, fn: () => void) => listeners.add(fn),
    removeEventListener: (_: string, fn: () => void) => listeners.delete(fn),
  };
  vi.stubGlobal('matchMedia', () => media);
  return {
    set(value: boolean) {
      dark = value;
      listeners.forEach((fn) => fn());
    },
    listeners,
  };
}

const theme = () => document.documentElement.dataset.theme;

describe('settings store', () => {
  it('loads, applies the theme, follows the OS only while on "system", and saves', async () => {
    const os = fakeColorScheme(true);
    const backend = new MockBackend();
    const store = new SettingsStore(backend);
    await store.load();
    expect(store.value).toEqual(DEFAULT_SETTINGS);
    expect(theme()).toBe('dark');
    os.set(false);
    expect(theme()).toBe('light');

    await store.save({ ...DEFAULT_SETTINGS, theme: 'dark', concurrency: 2, logLevel: 'warn' });
    expect(theme()).toBe('dark');
    expect(os.listeners.size).toBe(0);
    os.set(false);
    expect(theme()).toBe('dark');
    expect(await backend.settingsGet()).toEqual({ ...DEFAULT_SETTINGS, theme: 'dark', concurrency: 2, logLevel: 'warn' });
    store.dispose();
    vi.unstubAllGlobals();
  });

  it('keeps the defaults and remembers why when the backend cannot give settings', async () => {
    fakeColorScheme(false);
    const backend = new MockBackend();
    vi.spyOn(backend, 'settingsGet').mockRejectedValue({ code: 'internal', message: 'no settings file' });
    const store = new SettingsStore(backend);
    await store.load();
    expect(store.value.theme).toBe('system');
    expect(store.loadError).toEqual({ code: 'internal', message: 'no settings file' });
    expect(store.loaded).toBe(true);
    vi.unstubAllGlobals();
  });

  it('the mock rejects values out of range like the backend will', async () => {
    const m = new MockBackend();
    const ok: Settings = { ...DEFAULT_SETTINGS, theme: 'light', concurrency: 16, logLevel: 'trace' };
    await expect(m.settingsSet(ok)).resolves.toEqual(ok);
    await expect(m.settingsSet({ ...ok, concurrency: 0 })).rejects.toMatchObject({ code: 'invalid_input' });
    await expect(m.settingsSet({ ...ok, concurrency: 3.5 })).rejects.toMatchObject({ code: 'invalid_input' });
    await expect(m.settingsSet({ ...ok, theme: 'neon' as Settings['theme'] })).rejects.toMatchObject({ code: 'invalid_input' });
    await expect(m.settingsSet({ ...ok, logLevel: 'loud' as Settings['logLevel'] })).rejects.toMatchObject({ code: 'invalid_input' });
  });
});

describe('settings screen', () => {
  it('edits and saves theme, concurrency and log level through the backend', async () => {
    fakeColorScheme(false);
    const backend = new MockBackend();
    const settingsSet = vi.spyOn(backend, 'settingsSet');
    const { container } = await renderApp(backend);
    await fireEvent.click($(container, '#nav-settings'));
    await waitFor(() => expect(container.querySelector('#settings-form')).not.toBeNull());
    expect($(container, '.page-title').textContent).toBe('Settings');
    expect(($(container, '#theme-system') as HTMLInputElement).checked).toBe(true);
    expect(($(container, '#settings-concurrency') as HTMLInputElement).value).toBe('4');

    await type($(container, '#settings-concurrency'), '40');
    expect($(container, '#settings-concurrency-error').textContent).toContain('from 1 to 16');
    expect(($(container, '#settings-save') as HTMLButtonElement).disabled).toBe(true);
    await type($(container, '#settings-concurrency'), '6');
    expect(container.querySelector('#settings-concurrency-error')).toBeNull();
    await fireEvent.click($(container, '#theme-dark'));
    // (The log level <select> is exercised in Chromium by the browser tests: happy-dom's
    // selects do not report the chosen option.)
    expect(($(container, '#settings-log-level') as HTMLSelectElement).value).toBe('info');
    await fireEvent.submit($(container, '#settings-form'));

    await waitFor(() => expect($(container, '#settings-saved').textContent).toContain('Settings saved'));
    expect(settingsSet).toHaveBeenCalledWith({ ...DEFAULT_SETTINGS, theme: 'dark', concurrency: 6, logLevel: 'info' });
    expect(theme()).toBe('dark');
    // Editing again hides the "saved" note.
    await fireEvent.click($(container, '#theme-light'));
    expect($(container, '#settings-saved').textContent).not.toContain('Settings saved');
    vi.unstubAllGlobals();
  });

  it('shows a rejected save in the error banner and keeps the form', async () => {
    fakeColorScheme(false);
    const backend = new MockBackend();
    vi.spyOn(backend, 'settingsSet').mockRejectedValueOnce({ code: 'internal', message: 'disk full' });
    const { container } = await renderApp(backend);
    await fireEvent.click($(container, '#nav-settings'));
    await fireEvent.submit($(container, '#settings-form'));
    await waitFor(() => expect($(container, '#error').textContent).toContain('disk full'));
    expect(container.querySelector('#settings-form')).not.toBeNull();
    vi.unstubAllGlobals();
  });
});

describe('navigation shell', () => {
  it('offers the working screens and keeps screens that need a repository disabled until one is open', async () => {
    const { container } = await renderApp(new MockBackend());
    const nav = $$(container, 'nav button');
    expect(nav.map((b) => b.textContent?.trim())).toEqual(['Dashboard', 'Snapshots', 'Search', 'History', 'Repository', 'Settings']);
    for (const id of ['dashboard', 'snapshots', 'history']) {
      expect($(container, `#nav-${id}`).getAttribute('aria-disabled')).toBe('true');
    }
    expect($(container, '#nav-repository').getAttribute('aria-current')).toBe('page');
    await fireEvent.click($(container, '#nav-snapshots'));
    expect(container.querySelector('#repo-form')).not.toBeNull();

    await fireEvent.click($(container, '#mode-open'));
    await type($(container, '#repo-password'), 'demo');
    await fireEvent.click($(container, '#repo-submit'));
    await waitFor(() => expect(container.querySelector('#dashboard')).not.toBeNull());
    for (const id of ['dashboard', 'snapshots', 'history']) {
      expect($(container, `#nav-${id}`).getAttribute('aria-disabled')).toBe('false');
    }
    expect($(container, '#nav-dashboard').getAttribute('aria-current')).toBe('page');
    expect($(container, '.page-title').textContent).toBe('Dashboard');

    await fireEvent.click($(container, '#nav-repository'));
    expect(container.querySelector('#repo-form')).not.toBeNull();
    await fireEvent.click($(container, '#nav-snapshots'));
    await waitFor(() => expect(container.querySelector('#snapshot-list')).not.toBeNull());
  });

  it('keeps a backup running across screens, with its progress in the sidebar', async () => {
    const gate = deferred();
    let paused = false;
    const backend = new MockBackend({
      open: true,
      onStep: async (p) => {
        if (p.phase === 'items' && !paused) {
          paused = true;
          await gate.promise;
        }
      },
    });
    const { container } = await renderApp(backend, 'snapshots');
    await waitFor(() => expect($$(container, '.snapshot-row')).toHaveLength(3));
    await fireEvent.click($(container, '#backup-now'));
    await waitFor(() => expect(paused).toBe(true));
    await fireEvent.click($(container, '#nav-settings'));
    await waitFor(() => expect(container.querySelector('#settings-form')).not.toBeNull());
    expect($(container, '#job-status').textContent).toMatch(/Backing up… \d+%/);
    gate.resolve();
    await waitFor(() => expect(container.querySelector('#job-status')).toBeNull());
    await fireEvent.click($(container, '#nav-snapshots'));
    await waitFor(() => expect(container.querySelector('#backup-report')).not.toBeNull());
    await waitFor(() => expect($$(container, '.snapshot-row')).toHaveLength(4));
  });
});
