import { nextChecked, type CheckHow } from './selection';

/** The checked rows of a list (by id), reactive. `order` is the list as shown. */
export class Checks {
  checked = $state<ReadonlySet<string>>(new Set());
  #anchor: string | null = null;

  get size(): number {
    return this.checked.size;
  }

  has(id: string): boolean {
    return this.checked.has(id);
  }

  apply(how: CheckHow, id: string | null, order: readonly string[]): void {
    const next = nextChecked(this.checked, this.#anchor, order, how, id);
    this.checked = next.checked;
    this.#anchor = next.anchor;
  }

  clear(): void {
    this.apply('none', null, []);
  }
}
