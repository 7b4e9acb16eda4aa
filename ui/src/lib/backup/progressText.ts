import type { Progress } from '../backend/types';
import { formatBytes, formatNumber } from '../format';
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
  return parts.join(' · ');
}

/** 0..100, or null while the total is unknown. */
export function progressPercent(p: Progress): number | null {
  if (p.itemsTotal <= 0) return null;
  return Math.min(100, Math.round((p.itemsDone / p.itemsTotal) * 100));
}
