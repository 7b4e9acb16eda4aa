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

/**
 * Renders the whole app on `backend` and waits until start-up is done (the repository screen,
 * or the dashboard when a repository is open); with `screen`, then goes to that screen.
 */
export async function renderApp(backend: Backend, screen?: string) {
  const result = render(App, { props: { backend } });
  await waitFor(() => {
    if (!result.container.querySelector('#repo-form, #dashboard, #snapshot-list, #backup-now, #error')) {
      throw new Error('app not started');
    }
  });
  if (screen) await goTo(result.container, screen);
  return result;
}

/** Clicks a screen's sidebar entry and waits until it is the current screen. */
export async function goTo(container: HTMLElement, screen: string) {
  await fireEvent.click($(container, `#nav-${screen}`));
  await waitFor(() => {
    if ($(container, `#nav-${screen}`).getAttribute('aria-current') !== 'page') throw new Error(`not on ${screen}`);
  });
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
