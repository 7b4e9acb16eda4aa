import type { Progress } from '../backend/types';
import { formatBytes, formatDuration, formatNumber } from '../format';
import { t } from '../i18n/en';

/** "Backing up messages · alice@… / Inbox · 12 of 40 items · 1.2 MiB read" */
export function progressText(p: Progress): string {
  const parts: string[] = [t.backup.phase[p.phase] ?? p.phase];
  const where = [p.mailbox, p.folder].filter(Boolean).join(' / ');
  if (where) parts.push(where);
  parts.push(
    p.itemsTotal > 0
      ? t.backup.itemsOf(formatNumber(p.itemsDone), formatNumber(p.itemsTotal))
      : t.backup.itemsDone(formatNumber(p.itemsDone)),
  );
  parts.push(t.backup.bytes(formatBytes(p.bytesDone)));
  const pace = paceFacts(p);
  if (pace.rate) parts.push(pace.rate);
  if (pace.eta) parts.push(pace.eta);
  if (pace.throttle) parts.push(pace.throttle);
  return parts.join(' · ');
}

/** Speed, time left and throttling as short texts; null where unknown or not happening. */
export function paceFacts(p: Progress): { rate: string | null; eta: string | null; throttle: string | null } {
  const rate = p.itemsPerSecond > 0 ? t.backup.rate(p.itemsPerSecond.toFixed(1)) : null;
  const eta = p.etaSeconds != null && p.etaSeconds > 0 ? t.backup.eta(formatDuration(p.etaSeconds * 1000)) : null;
  const throttle = p.throttledNow > 0 ? t.backup.throttled(p.throttledNow) : null;
  return { rate, eta, throttle };
}

/** 0..100, or null while the total is unknown. */
export function progressPercent(p: Progress): number | null {
  if (p.itemsTotal <= 0) return null;
  return Math.min(100, Math.round((p.itemsDone / p.itemsTotal) * 100));
}
