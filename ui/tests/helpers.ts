import { fireEvent, render, waitFor } from '@testing-library/svelte';
import App from '../src/App.svelte';
import type { Backend } from '../src/lib/backend';

export function $(container: ParentNode, selector: string): HTMLElement {
  const el = container.querySelector<HTMLElement>(selector);
  if (!el) throw new Error(`no element matches ${selector}`);
  return el;
}

export function $$(container: ParentNode, selector: string): HTMLElement[] {
  return [...container.querySelectorAll<HTMLElement>(selector)];
}

/** Renders the whole app on `backend` and waits until start-up is done. */
export async function renderApp(backend: Backend) {
  const result = render(App, { props: { backend } });
  await waitFor(() => {
    if (!result.container.querySelector('#repo-form, #snapshot-list, #backup-now, #error')) {
      throw new Error('app not started');
    }
  });
  return result;
}

export async function type(input: HTMLElement, value: string) {
  await fireEvent.input(input, { target: { value } });
}

/** A promise with its resolve function, to pause fakes from a test. */
export function deferred<T = void>() {
  let resolve!: (value: T) => void;
  let reject!: (reason: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}
