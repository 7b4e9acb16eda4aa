import type { MockBackendOptions } from './mock';

/**
 * Options of the mock backend in a plain browser (dev server, `--mode mock` builds), from
 * the page's query string so browser tests can tune it:
 * `?mockDelay=ms` (between backup progress messages, default 150),
 * `?mockLarge=n` (items in the demo's large folder, default 100000; 0 for none),
 * `?mockOpen=1` (start with the demo repository open),
 * `?mockSets=1` (two saved backup sets with a history), `?mockSignin=ms` (how long a
 * device-code or browser sign-in waits, default 1500), `?mockMissing=n` (how many permission
 * checks of the demo app miss Tasks.Read.All, default 0).
 */
export function mockOptionsFromUrl(search: string): MockBackendOptions {
  const params = new URLSearchParams(search);
  const num = (name: string, fallback: number) => {
    const value = Number(params.get(name));
    return params.has(name) && Number.isFinite(value) && value >= 0 ? value : fallback;
  };
  return {
    stepDelayMs: num('mockDelay', 150),
    largeFolderItems: num('mockLarge', 100_000),
    open: params.get('mockOpen') === '1',
    sets: {
      seed: params.get('mockSets') === '1',
      signinDelayMs: num('mockSignin', 1500),
      missingPermissionTests: num('mockMissing', 0),
    },
  };
}
