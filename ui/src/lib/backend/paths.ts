// Snapshot paths, as the engine builds them (qcb_repo::join_path): "/" + each name with
// "%" written "%25" and "/" written "%2F". Folder paths come from the backend and are passed
// back verbatim; an item's path is its folder's path plus its id as one more name.

/** Escapes one name for use as a path segment. */
export function pathSegment(name: string): string {
  return name.replace(/%/g, '%25').replace(/\//g, '%2F');
}

/** The path `itemPreview` takes for item `itemId` of the folder at `folderPath`. */
export function itemPath(folderPath: string, itemId: string): string {
  return `${folderPath.replace(/\/+$/, '')}/${pathSegment(itemId)}`;
}

/** The name a path segment stands for (the reverse of `pathSegment`). */
export function segmentName(segment: string): string {
  return segment.replace(/%2F/gi, '/').replace(/%25/g, '%');
}

/** The folder an item or folder path is in (`/a/Inbox/<id>` → `/a/Inbox`; a mailbox → ''). */
export function parentPath(path: string): string {
  const trimmed = path.replace(/\/+$/, '');
  const at = trimmed.lastIndexOf('/');
  return at <= 0 ? '' : trimmed.slice(0, at);
}

/** The names along a path, unescaped (`/a%2Fb/Inbox` → ['a/b', 'Inbox']). */
export function pathNames(path: string): string[] {
  return path.split('/').filter(Boolean).map(segmentName);
}
