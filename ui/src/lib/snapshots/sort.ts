import type { Snapshot } from '../backend/types';

/** Newest first (the backend returns oldest first). Ties keep a stable order. */
export function newestFirst(snapshots: Snapshot[]): Snapshot[] {
  return snapshots
    .map((s, index) => ({ s, index, at: Date.parse(s.time) }))
    .sort((a, b) => (b.at || 0) - (a.at || 0) || b.index - a.index)
    .map(({ s }) => s);
}
