/** An id-safe form of a set name (`Nightly – all users` → `nightly-all-users`). */
export function slug(name: string): string {
  return (
    name
      .toLowerCase()
      .normalize('NFKD')
      .replace(/[^a-z0-9]+/g, '-')
      .replace(/^-+|-+$/g, '') || 'set'
  );
}
