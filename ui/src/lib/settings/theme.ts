import type { Theme } from '../backend/types';

export type ResolvedTheme = 'light' | 'dark';

const DARK_QUERY = '(prefers-color-scheme: dark)';

function systemTheme(): ResolvedTheme {
  return typeof matchMedia === 'function' && matchMedia(DARK_QUERY).matches ? 'dark' : 'light';
}

/** The theme to show for a preference: `system` follows the OS. */
export function resolveTheme(preference: Theme, system: ResolvedTheme = systemTheme()): ResolvedTheme {
  return preference === 'system' ? system : preference;
}

/**
 * Applies a theme preference to the document (`<html data-theme="light|dark">`, which
 * app.css keys its colours on) and, for `system`, follows OS changes until the returned
 * function is called.
 */
export function applyTheme(preference: Theme, root: HTMLElement = document.documentElement): () => void {
  const set = () => {
    const theme = resolveTheme(preference);
    root.dataset.theme = theme;
    root.style.colorScheme = theme;
  };
  set();
  if (preference !== 'system' || typeof matchMedia !== 'function') return () => {};
  const media = matchMedia(DARK_QUERY);
  media.addEventListener('change', set);
  return () => media.removeEventListener('change', set);
}
