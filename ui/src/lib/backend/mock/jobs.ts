// The mock's search, restore and export (see MockBackend), over the mock's snapshots.
//
// - search: every item version (one hit per id + subject, listing the snapshots holding it,
//   newest first) matched on subject, sender, recipients, body text and attachment names; words
//   (`budg*` a prefix), "phrases", `from:` `subject:` `to:` `body:` `attachment:`, `NOT word`,
//   `a OR b`; an unclosed quote or a dangling operator is `invalid_input`.
// - restore: a fake live tenant. Its mailboxes have their folders but not the backed-up items
//   (as after a loss), so a first restore to the original place writes everything and a second
//   one skips it ("already in the mailbox"). Streams Progress, honours dry runs (planned writes),
//   targets, another mailbox (`not_found` for an address the tenant does not have), conflict
//   policies and jobCancel (rejects `cancelled` after what was written). `writes` and
//   `itemsIn()` let tests see what was restored.
// - export: files and bytes as the engine counts them; a folder already written into is "not
//   empty" (`invalid_input`) unless `allowNonEmpty`; `pickFolderResult` is what pickFolder
//   returns (null: the user cancelled the dialog).
import { demoPreview, progressStart, type MockBackend, type MockFolder, type MockSnapshot } from '../mock';
import { apiError } from '../errors';
import { itemPath, pathSegment } from '../paths';
import {
  SNIPPET_MARK_END,
  SNIPPET_MARK_START,
  type ExportReport,
  type ExportRequest,
  type ExportedFile,
  type FailedItem,
  type ItemEntry,
  type Progress,
  type RestoreReport,
  type RestoreRequest,
  type SearchHit,
  type SearchPlace,
  type SearchQuery,
  type SearchResults,
} from '../types';

/** Mailboxes of the fake tenant beyond those backed up (restore into another mailbox). */
export const MOCK_OTHER_MAILBOXES = ['carol@contoso.example', 'archive@contoso.example'];
/** What pickFolder returns by default. */
export const MOCK_PICKED_FOLDER = '/home/demo/Exports';
/** The reason a restore gives for an item the target already holds (on-conflict skip). */
export const ALREADY_THERE = 'already in the mailbox';
/** When more items match, the total says this many and `totalCapped` is set (as the engine). */
export const SEARCH_TOTAL_CAP = 10_000;

const STANDARD_FOLDERS = ['Inbox', 'Sent Items', 'Drafts', 'Deleted Items', 'Archive'];

type Field = 'any' | 'from' | 'subject' | 'to' | 'body' | 'attachment';
/** One term: matches when any of its alternatives (joined by OR) matches; `not` inverts. */
type Term = { not: boolean; alternatives: { field: Field; text: string; prefix: boolean }[] };

type Doc = { subject: string; from: string; to: string; body: string; bodyText: string; attachment: string };

/** One write the mock made: what the tests assert. */
export type MockWrite = { mailbox: string; folder: string; itemId: string; action: 'create' | 'overwrite' };
/** One finished export. */
export type MockExport = { request: ExportRequest; reports: ExportReport[] };

/** A place of an item version in one snapshot. */
type Found = { snap: MockSnapshot; upn: string; folder: string[]; item: ItemEntry };

/** Parses query text into terms; throws `invalid_input` for bad syntax. */
export function parseQuery(text: string): Term[] {
  const tokens: { field: Field; text: string; quoted: boolean; raw: string }[] = [];
  const re = /\s*(?:(from|subject|to|body|attachment):)?(?:"([^"]*)"|([^\s"]+))?/gy;
  let pos = 0;
  while (pos < text.length) {
    re.lastIndex = pos;
    const m = re.exec(text);
    if (!m || m[0].length === 0) {
      if (text[pos] === '"' || text.slice(pos).trim().startsWith('"')) {
        throw apiError('invalid_input', 'Bad search syntax: a quote is not closed.');
      }
      pos++;
      continue;
    }
    pos = re.lastIndex;
    const field = (m[1] ?? 'any') as Field;
    if (m[2] === undefined && m[3] === undefined) {
      if (text.slice(pos).trim().startsWith('"')) throw apiError('invalid_input', 'Bad search syntax: a quote is not closed.');
      if (m[1]) throw apiError('invalid_input', `Bad search syntax: nothing after ${m[1]}:.`);
      continue;
    }
    tokens.push({ field, text: (m[2] ?? m[3]).toLocaleLowerCase(), quoted: m[2] !== undefined, raw: m[3] ?? '' });
  }
  const terms: Term[] = [];
  let not = false;
  let or = false;
  for (const tok of tokens) {
    if (!tok.quoted && tok.field === 'any' && (tok.raw === 'NOT' || tok.raw === 'OR' || tok.raw === 'AND')) {
      if (tok.raw === 'NOT') not = true;
      else if (tok.raw === 'OR') {
        if (terms.length === 0 || not) throw apiError('invalid_input', 'Bad search syntax: OR needs a word on each side.');
        or = true;
      } else if (terms.length === 0) throw apiError('invalid_input', 'Bad search syntax: AND needs a word on each side.');
      continue;
    }
    const words = tok.text.replace(/[()]/g, ' ').trim();
    if (!words) continue;
    const prefix = !tok.quoted && words.endsWith('*');
    const alt = { field: tok.field, text: prefix ? words.slice(0, -1) : words, prefix };
    if (or) terms[terms.length - 1].alternatives.push(alt);
    else terms.push({ not, alternatives: [alt] });
    not = false;
    or = false;
  }
  const last = tokens.at(-1);
  if (not || or || (last && !last.quoted && last.field === 'any' && last.raw === 'AND')) {
    throw apiError('invalid_input', 'Bad search syntax: an operator at the end needs a word after it.');
  }
  return terms;
}

const docs = new WeakMap<ItemEntry, Doc>();
function docOf(item: ItemEntry, owner: string): Doc {
  let doc = docs.get(item);
  if (!doc) {
    const preview = demoPreview(item, owner);
    const bodyText = (preview.text ?? (preview.html ?? '').replace(/<(script|style)[\s\S]*?<\/\1>/gi, ' ').replace(/<[^>]*>/g, ' ')).replace(/\s+/g, ' ').trim();
    doc = {
      subject: item.subject.toLocaleLowerCase(),
      from: item.from.toLocaleLowerCase(),
      to: [...preview.to, ...preview.cc].join(' ').toLocaleLowerCase(),
      body: bodyText.toLocaleLowerCase(),
      bodyText,
      attachment: preview.attachments.map((a) => a.name).join(' ').toLocaleLowerCase(),
    };
    docs.set(item, doc);
  }
  return doc;
}

function fieldMatches(value: string, text: string, prefix: boolean): boolean {
  if (!prefix) return value.includes(text);
  // A prefix matches at the start of a word.
  let at = value.indexOf(text);
  while (at >= 0) {
    if (at === 0 || /[^\p{L}\p{N}]/u.test(value[at - 1])) return true;
    at = value.indexOf(text, at + 1);
  }
  return false;
}

/** 0 when `doc` does not match, else a score (subject matches weigh most). */
function score(doc: Doc, terms: Term[]): number {
  let total = 1;
  for (const term of terms) {
    let best = 0;
    for (const { field, text, prefix } of term.alternatives) {
      const fields: [Field, number][] =
        field === 'any'
          ? [
              ['subject', 8],
              ['from', 4],
              ['to', 2],
              ['body', 1],
              ['attachment', 1],
            ]
          : [[field, 8]];
      for (const [f, weight] of fields) if (fieldMatches(doc[f as Exclude<Field, 'any'>], text, prefix)) best = Math.max(best, weight);
    }
    if (term.not ? best > 0 : best === 0) return 0;
    total += term.not ? 0 : best;
  }
  return total;
}

/** A piece of the body around the first match, with every matched word between the marks. */
export function makeSnippet(bodyText: string, terms: Term[]): string {
  const words = terms
    .filter((t) => !t.not)
    .flatMap((t) => t.alternatives)
    .filter((a) => a.field === 'any' || a.field === 'body')
    .map((a) => a.text)
    .filter(Boolean);
  const lower = bodyText.toLocaleLowerCase();
  const firstAt = words.map((w) => lower.indexOf(w)).filter((i) => i >= 0);
  const start = firstAt.length ? Math.max(0, Math.min(...firstAt) - 40) : 0;
  const end = Math.min(bodyText.length, start + 160);
  const piece = bodyText.slice(start, end);
  const pieceLower = piece.toLocaleLowerCase();
  // Mark ranges, merged, then written out.
  const ranges: [number, number][] = [];
  for (const w of words) {
    for (let at = pieceLower.indexOf(w); at >= 0; at = pieceLower.indexOf(w, at + w.length)) ranges.push([at, at + w.length]);
  }
  ranges.sort((a, b) => a[0] - b[0]);
  let out = start > 0 ? '…' : '';
  let pos = 0;
  for (const [a, b] of ranges) {
    if (a < pos) continue;
    out += piece.slice(pos, a) + SNIPPET_MARK_START + piece.slice(a, b) + SNIPPET_MARK_END;
    pos = b;
  }
  return out + piece.slice(pos) + (end < bodyText.length ? '…' : '');
}

/** `2026-11-01` (a whole day, UTC) or an RFC 3339 time: the bound in ms. */
function dateBound(value: string | null, end: boolean): number | null {
  if (!value) return null;
  const day = /^\d{4}-\d{2}-\d{2}$/.test(value);
  const ms = Date.parse(day ? `${value}T00:00:00Z` : value);
  if (Number.isNaN(ms)) throw apiError('invalid_input', `Not a date: ${value}.`);
  return day && end ? ms + 86_400_000 - 1 : ms;
}

function walk(folders: MockFolder[], prefix: string[], out: { path: string[]; folder: MockFolder }[], recursive = true) {
  for (const f of folders) {
    out.push({ path: [...prefix, f.name], folder: f });
    if (recursive) walk(f.children, [...prefix, f.name], out);
  }
  return out;
}

function folderPathOf(upn: string, names: string[]): string {
  return `/${pathSegment(upn)}${names.map((n) => `/${pathSegment(n)}`).join('')}`;
}

/** The fake live tenant: per mailbox (lower case), folders (names joined by "/") and item copies. */
type LiveMailbox = { upn: string; folders: Map<string, Map<string, number>> };

export class MockJobs {
  /** What pickFolder returns; null simulates a cancelled dialog. */
  pickFolderResult: string | null = MOCK_PICKED_FOLDER;
  /** Every write of every restore, in order. */
  readonly writes: MockWrite[] = [];
  /** Every export that finished (dry runs included). */
  readonly exports: MockExport[] = [];
  /** Folders (and zip files) an export wrote into. */
  readonly exportTargets = new Set<string>();
  private readonly live = new Map<string, LiveMailbox>();
  private running: 'restore' | 'export' | null = null;
  private cancelRequested = false;

  constructor(readonly host: MockBackend) {}

  // ------------------------------------------------------------------ search

  async search(query: SearchQuery): Promise<SearchResults> {
    const terms = parseQuery(query.text ?? '');
    if (terms.filter((t) => !t.not).length === 0) throw apiError('invalid_input', 'the search text is empty');
    const limit = query.limit <= 0 ? 50 : Math.min(1000, query.limit);
    const from = dateBound(query.fromDate, false);
    const to = dateBound(query.toDate, true);
    const all = this.host.snapshotData();
    let snaps = all;
    if (query.snapshot === 'latest') snaps = all.slice(-1);
    else if (query.snapshot) {
      snaps = all.filter((s) => s.snapshot.id === query.snapshot || s.snapshot.id.startsWith(query.snapshot!));
      if (snaps.length === 0) throw apiError('not_found', `Snapshot ${query.snapshot.slice(0, 8)} not found.`);
    }
    const folderFilter = query.folder?.trim().replace(/^\/+|\/+$/g, '').toLocaleLowerCase() || null;
    const mailboxFilter = query.mailbox?.trim().toLocaleLowerCase() || null;
    if (query.category && query.category !== 'mail') return { total: 0, totalCapped: false, hits: [] };

    // One hit per item version (id + subject), its places newest snapshot first.
    const versions = new Map<string, { found: Found[]; score: number; doc: Doc }>();
    for (const snap of [...snaps].reverse()) {
      for (const mailbox of snap.mailboxes) {
        if (mailboxFilter && mailbox.upn.toLocaleLowerCase() !== mailboxFilter) continue;
        for (const { path, folder } of walk(mailbox.folders, [], [])) {
          if (folderFilter) {
            const p = path.join('/').toLocaleLowerCase();
            if (p !== folderFilter && !p.startsWith(`${folderFilter}/`)) continue;
          }
          for (const item of folder.items) {
            if (query.hasAttachments !== null && query.hasAttachments !== undefined && item.hasAttachments !== query.hasAttachments) continue;
            if (from !== null || to !== null) {
              const t = Date.parse(item.receivedDateTime);
              if ((from !== null && t < from) || (to !== null && t > to)) continue;
            }
            const key = `${mailbox.upn}\n${item.id}\n${item.subject}`;
            const seen = versions.get(key);
            const place = { snap, upn: mailbox.upn, folder: path, item };
            if (seen) {
              seen.found.push(place);
              continue;
            }
            const doc = docOf(item, mailbox.upn);
            const s = score(doc, terms);
            if (s > 0) versions.set(key, { found: [place], score: s, doc });
          }
        }
      }
    }
    const ranked = [...versions.values()].sort(
      (a, b) => b.score - a.score || (a.found[0].item.receivedDateTime < b.found[0].item.receivedDateTime ? 1 : -1),
    );
    const hits: SearchHit[] = ranked.slice(0, limit).map(({ found, doc }) => {
      const item = found[0].item;
      const places: SearchPlace[] = found.map((f) => ({
        snapshotId: f.snap.snapshot.id,
        snapshotTime: f.snap.snapshot.time,
        path: itemPath(folderPathOf(f.upn, f.folder), f.item.id),
        mailbox: f.upn,
        folder: f.folder.join('/'),
        itemId: f.item.id,
      }));
      return {
        itemId: item.id,
        subject: item.subject,
        from: item.from,
        date: item.receivedDateTime,
        category: 'mail',
        hasAttachments: item.hasAttachments,
        snippet: makeSnippet(doc.bodyText, terms),
        places,
      };
    });
    return { total: Math.min(ranked.length, SEARCH_TOTAL_CAP), totalCapped: ranked.length > SEARCH_TOTAL_CAP, hits };
  }

  // ------------------------------------------------------------------ restore

  /** The item ids (with copies) the fake tenant holds in `folder` ("Inbox/Projects") of `mailbox`. */
  itemsIn(mailbox: string, folder: string): Map<string, number> {
    return new Map(this.liveMailbox(mailbox)?.folders.get(folder) ?? []);
  }

  /** The folders the fake tenant's mailbox has ("Inbox", "Restored …/Inbox"...). */
  foldersOf(mailbox: string): string[] {
    return [...(this.liveMailbox(mailbox)?.folders.keys() ?? [])];
  }

  private liveMailbox(address: string): LiveMailbox | null {
    const key = address.trim().toLocaleLowerCase();
    let box = this.live.get(key);
    if (box) return box;
    const snaps = this.host.snapshotData();
    const newest = [...snaps].reverse().find((s) => s.mailboxes.some((m) => m.upn.toLocaleLowerCase() === key));
    const backedUp = newest?.mailboxes.find((m) => m.upn.toLocaleLowerCase() === key);
    const other = MOCK_OTHER_MAILBOXES.find((m) => m === key);
    if (!backedUp && !other) return null;
    box = { upn: backedUp?.upn ?? other!, folders: new Map() };
    for (const name of STANDARD_FOLDERS) box.folders.set(name, new Map());
    if (backedUp) for (const { path } of walk(backedUp.folders, [], [])) box.folders.set(path.join('/'), new Map());
    this.live.set(key, box);
    return box;
  }

  private snapshot(id: string): MockSnapshot {
    const snap = this.host.snapshotData().find((s) => s.snapshot.id === id);
    if (!snap) throw apiError('not_found', `Snapshot ${id.slice(0, 8)} not found.`);
    return snap;
  }

  /**
   * What a path names: every item under it, each with its folder (names from the mailbox) and
   * the part of that folder a folder target keeps (`keep`: from the selected folder down).
   */
  private resolve(snap: MockSnapshot, path: string, recursive: boolean) {
    const out: { upn: string; folder: string[]; keepFrom: number; item: ItemEntry | null }[] = [];
    const addFolders = (upn: string, folders: MockFolder[], prefix: string[], keepFrom: number, deep: boolean) => {
      for (const { path: names, folder } of walk(folders, prefix, [], deep)) {
        out.push({ upn, folder: names, keepFrom, item: null });
        for (const item of folder.items) out.push({ upn, folder: names, keepFrom, item });
      }
    };
    const segs = path.split('/').filter(Boolean);
    if (segs.length === 0) {
      for (const m of snap.mailboxes) addFolders(m.upn, m.folders, [], 0, recursive);
      return out;
    }
    const mailbox = snap.mailboxes.find((m) => pathSegment(m.upn) === segs[0]);
    if (!mailbox) throw apiError('not_found', `${path} is not in snapshot ${snap.snapshot.shortId}.`);
    if (segs.length === 1) {
      addFolders(mailbox.upn, mailbox.folders, [], 0, recursive);
      return out;
    }
    let children = mailbox.folders;
    let folder: MockFolder | null = null;
    const names: string[] = [];
    for (let i = 1; i < segs.length; i++) {
      const next = children.find((f) => pathSegment(f.name) === segs[i]);
      if (next) {
        folder = next;
        names.push(next.name);
        children = next.children;
        continue;
      }
      const item = i === segs.length - 1 ? folder?.items.find((it) => pathSegment(it.id) === segs[i]) : undefined;
      if (!item) throw apiError('not_found', `${path} is not in snapshot ${snap.snapshot.shortId}.`);
      out.push({ upn: mailbox.upn, folder: names, keepFrom: names.length - 1, item });
      return out;
    }
    out.push({ upn: mailbox.upn, folder: [...names], keepFrom: names.length - 1, item: null });
    for (const item of folder!.items) out.push({ upn: mailbox.upn, folder: [...names], keepFrom: names.length - 1, item });
    if (recursive) addFolders(mailbox.upn, folder!.children, names, names.length - 1, true);
    return out;
  }

  private begin(kind: 'restore' | 'export') {
    if (this.running) throw apiError('already_running', `A ${this.running} is already running.`);
    this.running = kind;
    this.cancelRequested = false;
  }

  private async emit(onProgress: (p: Progress) => void, p: Progress, what: string, written: number) {
    onProgress({ ...p });
    await this.host.step(p);
    if (this.cancelRequested) {
      throw apiError('cancelled', `The ${what} was cancelled; ${written === 1 ? '1 item was' : `${written} items were`} written before it stopped.`);
    }
  }

  async restoreRun(request: RestoreRequest, onProgress: (progress: Progress) => void): Promise<RestoreReport[]> {
    const snap = this.snapshot(request.snapshotId);
    if (request.paths.length === 0) throw apiError('invalid_input', 'Nothing to restore: no path given.');
    if (request.target.kind === 'folder' && !request.target.name.trim()) {
      throw apiError('invalid_input', 'The name of the new folder is empty.');
    }
    if (request.targetMailbox !== null && !request.targetMailbox.trim()) {
      throw apiError('invalid_input', 'The target mailbox address is empty.');
    }
    const work = request.paths.flatMap((p) => this.resolve(snap, p, request.recursive));
    if (request.targetMailbox !== null && !this.liveMailbox(request.targetMailbox)) {
      throw apiError('not_found', `No mailbox ${request.targetMailbox.trim()} in the tenant.`);
    }
    this.begin('restore');
    const started = Date.now();
    let written = 0;
    try {
      const reports = new Map<string, RestoreReport>();
      const targetName = request.target.kind === 'folder' ? request.target.name.trim() : '';
      const report = (mailbox: string) => {
        let r = reports.get(mailbox);
        if (!r) {
          r = {
            mailbox,
            targetFolder: targetName,
            dryRun: request.dryRun,
            foldersCreated: 0,
            itemsRestored: 0,
            itemsOverwritten: 0,
            itemsSkipped: 0,
            skipped: [],
            failed: [],
            planned: [],
            durationMs: 0,
          };
          reports.set(mailbox, r);
        }
        return r;
      };
      const items = work.filter((w) => w.item);
      const progress = progressStart(items.length);
      await this.emit(onProgress, progress, 'restore', written);
      // A dry run plans against a copy of the live folders, so nothing changes.
      const planned = new Map<string, Set<string>>();
      const seenItem = new Set<string>();
      let lastMailbox = '';
      let lastFolder = '';
      for (const w of work) {
        const box = this.liveMailbox(request.targetMailbox ?? w.upn)!;
        const r = report(box.upn);
        const names = targetName ? [targetName, ...w.folder.slice(w.keepFrom)] : w.folder;
        const folderKey = names.join('/');
        if (box.upn !== lastMailbox) {
          lastMailbox = box.upn;
          await this.emit(onProgress, Object.assign(progress, { phase: 'mailbox', mailbox: box.upn, folder: null }), 'restore', written);
        }
        // Create the target folder (and its parents) where missing.
        for (let i = 1; i <= names.length; i++) {
          const key = names.slice(0, i).join('/');
          const plannedHere = planned.get(box.upn) ?? new Set<string>();
          planned.set(box.upn, plannedHere);
          if (box.folders.has(key) || plannedHere.has(key)) continue;
          if (request.dryRun) {
            plannedHere.add(key);
            r.planned.push({ action: 'create-folder', kind: 'folder', folder: key, itemId: '' });
          } else {
            box.folders.set(key, new Map());
            r.foldersCreated++;
          }
        }
        if (!w.item) continue;
        const itemKey = `${box.upn}\n${folderKey}\n${w.item.id}`;
        if (seenItem.has(itemKey)) continue; // named twice (a folder and an item in it)
        seenItem.add(itemKey);
        if (folderKey !== lastFolder) {
          lastFolder = folderKey;
          await this.emit(onProgress, Object.assign(progress, { phase: 'folder', folder: folderKey }), 'restore', written);
        }
        const contents = box.folders.get(folderKey);
        const there = (contents?.get(w.item.id) ?? 0) > 0;
        let action: MockWrite['action'] | null = 'create';
        if (there && request.onConflict === 'skip') action = null;
        else if (there && request.onConflict === 'overwrite') action = 'overwrite';
        if (action === null) {
          r.itemsSkipped++;
          r.skipped.push({ mailbox: box.upn, folder: folderKey, itemId: w.item.id, reason: ALREADY_THERE });
        } else if (request.dryRun) {
          r.planned.push({ action, kind: 'message', folder: folderKey, itemId: w.item.id });
        } else {
          const map = box.folders.get(folderKey)!;
          map.set(w.item.id, action === 'overwrite' ? (map.get(w.item.id) ?? 1) : (map.get(w.item.id) ?? 0) + 1);
          this.writes.push({ mailbox: box.upn, folder: folderKey, itemId: w.item.id, action });
          written++;
          if (action === 'overwrite') r.itemsOverwritten++;
          else r.itemsRestored++;
        }
        progress.itemsDone++;
        progress.bytesDone += w.item.size;
        await this.emit(onProgress, Object.assign(progress, { phase: 'items' }), 'restore', written);
      }
      onProgress({ ...progress, phase: 'done', mailbox: null, folder: null });
      const durationMs = Math.max(1, Date.now() - started);
      return [...reports.values()].map((r) => ({ ...r, durationMs }));
    } finally {
      this.running = null;
      this.cancelRequested = false;
    }
  }

  // ------------------------------------------------------------------ export

  async exportRun(request: ExportRequest, onProgress: (progress: Progress) => void): Promise<ExportReport[]> {
    const snap = this.snapshot(request.snapshotId);
    const target = request.target.trim();
    if (!target) throw apiError('invalid_input', 'Choose where to export to.');
    if (request.paths.length === 0) throw apiError('invalid_input', 'Nothing to export: no path given.');
    if (request.zip && request.paths.length > 1) {
      throw apiError('invalid_input', 'a zip file holds one mailbox, folder or item: export the others into a folder, or one at a time');
    }
    if (request.zip && !/\.zip$/i.test(target)) throw apiError('invalid_input', `${target} is not a .zip file name.`);
    if (request.zip && this.exportTargets.has(target)) {
      throw apiError('invalid_input', `${target} exists; existing files are never overwritten.`);
    }
    if (!request.zip && this.exportTargets.has(target) && !request.allowNonEmpty) {
      throw apiError(
        'invalid_input',
        `the folder ${target} is not empty: choose an empty or new folder, or allow writing into it (existing files are never overwritten)`,
      );
    }
    const work = request.paths.map((p) => ({ path: p, entries: this.resolve(snap, p, request.recursive) }));
    this.begin('export');
    let written = 0;
    try {
      const progress = progressStart(work.reduce((n, w) => n + w.entries.filter((e) => e.item).length, 0));
      await this.emit(onProgress, progress, 'export', written);
      const reports: ExportReport[] = [];
      for (const w of work) {
        const started = Date.now();
        const r: ExportReport = {
          snapshotId: snap.snapshot.id,
          snapshotTime: snap.snapshot.time,
          target,
          dryRun: request.dryRun,
          zip: request.zip,
          messages: 0,
          events: 0,
          contacts: 0,
          tasks: 0,
          other: 0,
          folders: 0,
          files: 0,
          bytes: 0,
          written: [],
          failed: [] as FailedItem[],
          durationMs: 0,
        };
        // Files by path (laid out as the engine does: `<mailbox>/Mail/<folder>/<name>.eml`,
        // or one `<mailbox>/Mail/<folder>.mbox` per folder), and the directories they need.
        const files = new Map<string, ExportedFile>();
        const dirs = new Set<string>();
        for (const e of w.entries) {
          if (!e.item) continue;
          r.messages++;
          const folder = [e.upn, 'Mail', ...e.folder].join('/');
          const path = request.mailFormat === 'eml' ? `${folder}/${e.item.id}.eml` : `${folder}.mbox`;
          // mbox: a "From sender date" line, the message, a blank line.
          const bytes = request.mailFormat === 'eml' ? e.item.size : e.item.size + 60;
          const file = files.get(path) ?? { path, items: 0, bytes: 0 };
          file.items++;
          file.bytes += bytes;
          files.set(path, file);
          const parts = path.split('/');
          for (let i = 1; i < parts.length; i++) dirs.add(parts.slice(0, i).join('/'));
          progress.itemsDone++;
          progress.bytesDone += e.item.size;
          if (!request.dryRun) written++;
          await this.emit(onProgress, Object.assign(progress, { phase: 'items', mailbox: e.upn, folder: e.folder.join('/') }), 'export', written);
        }
        r.written = [...files.values()];
        r.files = r.written.length;
        r.bytes = r.written.reduce((n, f) => n + f.bytes, 0);
        r.folders = dirs.size;
        r.durationMs = Math.max(1, Date.now() - started);
        reports.push(r);
      }
      onProgress({ ...progress, phase: 'done', mailbox: null, folder: null });
      if (!request.dryRun) this.exportTargets.add(target);
      this.exports.push({ request: { ...request, paths: [...request.paths] }, reports });
      return reports;
    } finally {
      this.running = null;
      this.cancelRequested = false;
    }
  }

  async jobCancel(): Promise<void> {
    if (this.running) this.cancelRequested = true;
  }

  async pickFolder(_title: string): Promise<string | null> {
    return this.pickFolderResult;
  }
}
