// The mock's item versions (`item_versions`) and the demo message that changes between the
// demo snapshots, so the snapshot browser's "Versions" and "Compare" have something to show.
import type { MockFolder, MockMailbox, MockSnapshot } from '../mock';
import { itemPath, pathSegment } from '../paths';
import type { ItemEntry, ItemVersionInfo } from '../types';

/**
 * Id of the demo message that changes: unread in the first snapshot, read in the second, and
 * from the third on with an edited subject and a note in its body.
 */
export const CHANGED_ITEM_ID = 'AAMk-alice-inbox-4';
/** What the demo message's subject gets in front of it once edited (third snapshot on). */
export const CHANGED_SUBJECT_TAG = '[Policy] ';
/** The line its body gets once edited. */
export const CHANGED_NOTE = 'Note: forwarded to the security team for sign-off.';

/**
 * Makes the demo tenant of snapshot `generation` behave like a real mailbox over time: a
 * message keeps the received time it had when first seen (`firstSeen`, by id), and the demo
 * message CHANGED_ITEM_ID changes as described there.
 */
export function settleDemoTenant(tenant: MockMailbox[], generation: number, firstSeen: Map<string, string>): void {
  for (const mailbox of tenant) {
    for (const { folder } of walk(mailbox.folders, [])) {
      for (const item of folder.items) {
        const seen = firstSeen.get(item.id);
        if (seen) item.receivedDateTime = seen;
        else firstSeen.set(item.id, item.receivedDateTime);
      }
    }
  }
  const alice = tenant.find((m) => m.upn === 'alice@contoso.example');
  const inbox = alice?.folders.find((f) => f.name === 'Inbox');
  const at = inbox?.items.findIndex((i) => i.id === CHANGED_ITEM_ID) ?? -1;
  if (!inbox || at < 0 || generation < 1) return;
  const item = inbox.items[at];
  item.isRead = true;
  if (generation < 2) return;
  item.subject = `${CHANGED_SUBJECT_TAG}${item.subject}`;
  item.size += 1_234;
}

/** Every folder below `folders` with its names from the mailbox. */
function* walk(folders: MockFolder[], names: string[]): Generator<{ names: string[]; folder: MockFolder }> {
  for (const folder of folders) {
    const here = [...names, folder.name];
    yield { names: here, folder };
    yield* walk(folder.children, here);
  }
}

/** What makes two copies of an item differ (the engine compares content and properties). */
function fingerprint(item: ItemEntry): string {
  return JSON.stringify([item.subject, item.from, item.receivedDateTime, item.size, item.isRead, item.hasAttachments]);
}

/** `item_versions`: every snapshot's copy of item `itemId`, oldest first, wherever it was filed. */
export function itemVersions(snapshots: MockSnapshot[], itemId: string): ItemVersionInfo[] {
  const out: ItemVersionInfo[] = [];
  let previous: string | null = null;
  const oldestFirst = [...snapshots].sort((a, b) => (a.snapshot.time < b.snapshot.time ? -1 : a.snapshot.time > b.snapshot.time ? 1 : 0));
  for (const snap of oldestFirst) {
    let found: { path: string; item: ItemEntry } | null = null;
    for (const mailbox of snap.mailboxes) {
      for (const { names, folder } of walk(mailbox.folders, [])) {
        const item = folder.items.find((i) => i.id === itemId);
        if (item) {
          const folderPath = `/${pathSegment(mailbox.upn)}${names.map((n) => `/${pathSegment(n)}`).join('')}`;
          found = { path: itemPath(folderPath, item.id), item };
          break;
        }
      }
      if (found) break;
    }
    if (!found) continue;
    const print = fingerprint(found.item);
    out.push({
      snapshotId: snap.snapshot.id,
      shortId: snap.snapshot.shortId,
      time: snap.snapshot.time,
      path: found.path,
      size: found.item.size,
      subject: found.item.subject,
      changed: previous === null || print !== previous,
    });
    previous = print;
  }
  return out;
}
