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
