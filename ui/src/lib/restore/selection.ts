// What a restore or export takes: snapshot paths (opaque strings from the backend) with a
// readable label, and the multi-selection logic of the lists (click, ctrl/cmd-click,
// shift-click and keyboard ranges).
import { pathNames } from '../backend/paths';

export type SelectedKind = 'mailbox' | 'folder' | 'item';

/** One thing to restore: a path of one snapshot. */
export type RestoreItem = {
  snapshotId: string;
  /** Shown beside the label (e.g. the snapshot's short id and time). */
  snapshotLabel: string;
  /** The browse path, handed back to the backend verbatim. */
  path: string;
  kind: SelectedKind;
  /** What the user sees: a subject, or the folder's place. */
  label: string;
  /** More about it: the folder a message is in. */
  detail?: string;
};

/** Opening the wizard: what is selected and whether it starts on restore or export. */
export type RestoreSelection = { items: RestoreItem[]; mode: 'restore' | 'export' };

/** `/alice@x/Inbox/Projects` → `alice@x › Inbox › Projects`. */
export function readablePath(path: string): string {
  const names = pathNames(path);
  return names.length ? names.join(' › ') : '/';
}

/** The snapshot paths grouped by snapshot, in first-seen order: one request per group. */
export function groupBySnapshot(items: readonly RestoreItem[]): { snapshotId: string; snapshotLabel: string; paths: string[] }[] {
  const groups = new Map<string, { snapshotId: string; snapshotLabel: string; paths: string[] }>();
  for (const item of items) {
    let g = groups.get(item.snapshotId);
    if (!g) {
      g = { snapshotId: item.snapshotId, snapshotLabel: item.snapshotLabel, paths: [] };
      groups.set(item.snapshotId, g);
    }
    if (!g.paths.includes(item.path)) g.paths.push(item.path);
  }
  return [...groups.values()];
}

/** The ids from `anchor` to `id` (inclusive) in `order`; just `id` when the anchor is not there. */
export function rangeIds(order: readonly string[], anchor: string | null, id: string): string[] {
  const to = order.indexOf(id);
  if (to < 0) return [];
  const from = anchor === null ? -1 : order.indexOf(anchor);
  if (from < 0) return [id];
  const [a, b] = from <= to ? [from, to] : [to, from];
  return order.slice(a, b + 1);
}

/** How a row was chosen: a plain toggle (Space, the check box, ctrl/cmd-click) or a shift range. */
export type CheckHow = 'toggle' | 'range' | 'all' | 'none';

/**
 * The next set of checked ids. `toggle` flips `id` and makes it the anchor; `range` checks
 * everything from the anchor to `id` (keeping what else was checked); `all` checks the whole
 * `order` (or clears it when everything already was); `none` clears.
 */
export function nextChecked(
  checked: ReadonlySet<string>,
  anchor: string | null,
  order: readonly string[],
  how: CheckHow,
  id: string | null,
): { checked: Set<string>; anchor: string | null } {
  const next = new Set(checked);
  switch (how) {
    case 'none':
      return { checked: new Set(), anchor: null };
    case 'all': {
      const everything = order.length > 0 && order.every((o) => checked.has(o));
      return { checked: everything ? new Set() : new Set(order), anchor };
    }
    case 'toggle':
      if (id === null) return { checked: next, anchor };
      if (next.has(id)) next.delete(id);
      else next.add(id);
      return { checked: next, anchor: id };
    case 'range':
      if (id === null) return { checked: next, anchor };
      for (const r of rangeIds(order, anchor, id)) next.add(r);
      return { checked: next, anchor: anchor ?? id };
  }
}
