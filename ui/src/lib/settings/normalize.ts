import {
  CONCURRENCY_MAX,
  CONCURRENCY_MIN,
  DEFAULT_SETTINGS,
  LOG_LEVELS,
  THEMES,
  type LogLevel,
  type Settings,
  type Theme,
} from '../backend/types';

/** Settings as the backend sent them, with anything missing or out of range replaced by the default. */
export function normalizeSettings(raw: unknown): Settings {
  const r = (typeof raw === 'object' && raw !== null ? raw : {}) as Record<string, unknown>;
  const theme = THEMES.includes(r.theme as Theme) ? (r.theme as Theme) : DEFAULT_SETTINGS.theme;
  const logLevel = LOG_LEVELS.includes(r.logLevel as LogLevel) ? (r.logLevel as LogLevel) : DEFAULT_SETTINGS.logLevel;
  const c = r.concurrency;
  const concurrency =
    typeof c === 'number' && Number.isInteger(c) && c >= CONCURRENCY_MIN && c <= CONCURRENCY_MAX
      ? c
      : DEFAULT_SETTINGS.concurrency;
  const flag = (v: unknown, fallback: boolean) => (typeof v === 'boolean' ? v : fallback);
  return {
    theme,
    concurrency,
    logLevel,
    notifyOnSuccess: flag(r.notifyOnSuccess, DEFAULT_SETTINGS.notifyOnSuccess),
    closeToTray: flag(r.closeToTray, DEFAULT_SETTINGS.closeToTray),
    startAtLogin: flag(r.startAtLogin, DEFAULT_SETTINGS.startAtLogin),
  };
}
