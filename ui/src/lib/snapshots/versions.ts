// Comparing two copies of a message (the preview's "Versions"): the fields side by side and
// the body as text, line by line. Mail HTML is only ever turned into text here (in an inert
// document: nothing in it runs or loads); it is shown nowhere but the sandboxed preview frame.
import { pathNames, parentPath } from '../backend/paths';
import type { ItemPreview, ItemVersionInfo } from '../backend/types';
import { formatBytes, formatDateTime } from '../format';

export type CompareField = 'subject' | 'from' | 'to' | 'cc' | 'date' | 'attachments' | 'folder' | 'size';
export type FieldRow = { field: CompareField; older: string; newer: string; changed: boolean };
export type DiffLine = { kind: 'same' | 'removed' | 'added'; text: string };
/** One side of a comparison: the version (from `item_versions`) and its preview. */
export type CompareSide = { version: ItemVersionInfo; preview: ItemPreview };

/** The folder of a version's path, without the mailbox (`/a@x/Inbox/Projects/<id>` → `Inbox › Projects`). */
export function versionFolder(path: string): string {
  return pathNames(parentPath(path)).slice(1).join(' › ');
}

/** The mailbox of a version's path. */
export function versionMailbox(path: string): string {
  return pathNames(path)[0] ?? '';
}

const BLOCKS = new Set([
  'ADDRESS', 'ARTICLE', 'ASIDE', 'BLOCKQUOTE', 'DD', 'DIV', 'DL', 'DT', 'FIGURE', 'FOOTER', 'FORM', 'H1', 'H2', 'H3',
  'H4', 'H5', 'H6', 'HEADER', 'HR', 'LI', 'MAIN', 'NAV', 'OL', 'P', 'PRE', 'SECTION', 'TABLE', 'TR', 'UL',
]);

/** The text of an HTML body: parsed into an inert document (no scripts run, nothing loads), tags dropped. */
export function htmlToText(html: string): string {
  const doc = new DOMParser().parseFromString(html, 'text/html');
  doc.querySelectorAll('script, style, head, title, template, noscript').forEach((el) => el.remove());
  let out = '';
  /** Ends the text so far with at least `n` line breaks (none at the very start). */
  const lineBreak = (n: number) => {
    out = out.replace(/[ \t]+$/, '');
    if (!out) return;
    const have = /\n*$/.exec(out)![0].length;
    if (have < n) out += '\n'.repeat(n - have);
  };
  const visit = (node: Node) => {
    if (node.nodeType === 3) {
      out += (node.textContent ?? '').replace(/\s+/g, ' ');
      return;
    }
    if (node.nodeType !== 1) return;
    const tag = (node as Element).tagName.toUpperCase();
    if (tag === 'BR') {
      out += '\n';
      return;
    }
    const gap = tag === 'P' || /^H\d$/.test(tag) ? 2 : BLOCKS.has(tag) ? 1 : 0;
    if (gap) lineBreak(gap);
    if (tag === 'TD' || tag === 'TH') out += ' ';
    node.childNodes.forEach(visit);
    if (gap) lineBreak(gap);
  };
  if (doc.body) visit(doc.body);
  return out
    .split('\n')
    .map((line) => line.trim())
    .join('\n')
    .replace(/\n{3,}/g, '\n\n')
    .trim();
}

/** A message's body as text: its plain-text body, else the text of its HTML body. */
export function bodyText(preview: ItemPreview): string {
  if (preview.text && preview.text.trim()) return preview.text.replace(/\r\n?/g, '\n').trim();
  if (preview.html) return htmlToText(preview.html);
  return '';
}

function attachmentsText(p: ItemPreview): string {
  return p.attachments.map((a) => `${a.name} (${formatBytes(a.size)})`).join(', ');
}

/** The fields of both sides, older first, each marked when it differs. */
export function compareFields(older: CompareSide, newer: CompareSide): FieldRow[] {
  const value = (s: CompareSide, field: CompareField): string => {
    const p = s.preview;
    switch (field) {
      case 'subject':
        return p.subject;
      case 'from':
        return p.from;
      case 'to':
        return p.to.join(', ');
      case 'cc':
        return p.cc.join(', ');
      case 'date':
        return formatDateTime(p.date);
      case 'attachments':
        return attachmentsText(p);
      case 'folder':
        return versionFolder(s.version.path);
      case 'size':
        return formatBytes(s.version.size);
    }
  };
  const fields: CompareField[] = ['subject', 'from', 'to', 'cc', 'date', 'attachments', 'folder', 'size'];
  return fields.map((field) => {
    const a = value(older, field);
    const b = value(newer, field);
    // The exact values decide (two sizes may print alike).
    const changed = field === 'size' ? older.version.size !== newer.version.size : field === 'date' ? older.preview.date !== newer.preview.date : a !== b;
    return { field, older: a, newer: b, changed };
  });
}

/** Lines compared line by line at most (longer bodies are shown whole, side by side). */
export const DIFF_MAX_LINES = 2_000;

/**
 * The lines of `older` and `newer` as removed / added / same (a longest common subsequence),
 * or null when either has more than DIFF_MAX_LINES lines.
 */
export function lineDiff(older: string, newer: string): DiffLine[] | null {
  const a = older ? older.split('\n') : [];
  const b = newer ? newer.split('\n') : [];
  if (a.length > DIFF_MAX_LINES || b.length > DIFF_MAX_LINES) return null;
  // Common head and tail first: edits are usually small.
  let head = 0;
  while (head < a.length && head < b.length && a[head] === b[head]) head++;
  let tail = 0;
  while (tail < a.length - head && tail < b.length - head && a[a.length - 1 - tail] === b[b.length - 1 - tail]) tail++;
  const midA = a.slice(head, a.length - tail);
  const midB = b.slice(head, b.length - tail);
  const n = midA.length;
  const m = midB.length;
  // lcs[i][j]: the longest common subsequence of midA[i..] and midB[j..].
  const lcs: Uint16Array[] = Array.from({ length: n + 1 }, () => new Uint16Array(m + 1));
  for (let i = n - 1; i >= 0; i--) {
    for (let j = m - 1; j >= 0; j--) {
      lcs[i][j] = midA[i] === midB[j] ? lcs[i + 1][j + 1] + 1 : Math.max(lcs[i + 1][j], lcs[i][j + 1]);
    }
  }
  const out: DiffLine[] = a.slice(0, head).map((text) => ({ kind: 'same' as const, text }));
  let i = 0;
  let j = 0;
  while (i < n || j < m) {
    if (i < n && j < m && midA[i] === midB[j]) {
      out.push({ kind: 'same', text: midA[i] });
      i++;
      j++;
    } else if (j >= m || (i < n && lcs[i + 1][j] >= lcs[i][j + 1])) {
      out.push({ kind: 'removed', text: midA[i++] });
    } else {
      out.push({ kind: 'added', text: midB[j++] });
    }
  }
  for (const text of a.slice(a.length - tail)) out.push({ kind: 'same', text });
  return out;
}
