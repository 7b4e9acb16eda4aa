// The sanitiser itself is exercised in real Chromium by the browser tests (tests/browser:
// "preview: hostile HTML ..."). happy-dom lacks what DOMPurify needs, which makes it a good
// place to prove that the preview fails closed.
import { describe, expect, it } from 'vitest';
import { fireEvent, waitFor } from '@testing-library/svelte';
import { HOSTILE_ITEM_ID, MockBackend, hostileHtml } from '../src/lib/backend/mock';
import { frameDocument, sanitizeMail } from '../src/lib/snapshots/sanitize';
import { $, $$, renderApp } from './helpers';

describe('mail HTML sanitising', () => {
  it('shows no HTML where the sanitiser does not work (fails closed)', () => {
    const result = sanitizeMail(hostileHtml('alice@contoso.example'), false);
    expect(result).toEqual({ html: '', supported: false, remoteBlocked: 0 });
    expect(sanitizeMail('<p>plain</p>', true).html).toBe('');
  });

  it('wraps the body in a document with its own CSP', () => {
    expect(frameDocument('<p>x</p>', false)).toContain(
      `content="default-src 'none'; img-src data:; style-src 'unsafe-inline'; font-src data:"`,
    );
    expect(frameDocument('<p>x</p>', true)).toContain('img-src data: http: https:');
    expect(frameDocument('<p>x</p>', false)).toMatch(/<body><p>x<\/p><\/body>/);
    expect(frameDocument('', false)).toContain('name="referrer" content="no-referrer"');
  });

  it('the preview pane then says so instead of showing the message', async () => {
    const backend = new MockBackend({ open: true });
    const { container } = await renderApp(backend, 'snapshots');
    await waitFor(() => expect($$(container, '.snapshot-row').length).toBeGreaterThan(0));
    await fireEvent.click($$(container, '.snapshot-row')[0]);
    await waitFor(() => expect(container.querySelector('.folder-row[data-path="/alice@contoso.example"]')).not.toBeNull());
    await fireEvent.click($(container, '.folder-row[data-path="/alice@contoso.example"]'));
    await waitFor(() => expect(container.querySelector('.folder-row[data-path="/alice@contoso.example/Inbox"]')).not.toBeNull());
    await fireEvent.click($(container, '.folder-row[data-path="/alice@contoso.example/Inbox"]'));
    await waitFor(() => expect(container.querySelector(`.item-row[data-item-id="${HOSTILE_ITEM_ID}"]`)).not.toBeNull());
    await fireEvent.click($(container, `.item-row[data-item-id="${HOSTILE_ITEM_ID}"]`));
    await waitFor(() => expect(container.querySelector('#preview-unsafe')).not.toBeNull());
    expect(container.querySelector('#preview-frame')).toBeNull();
    expect($(container, '#preview-subject').textContent).toBeTruthy();
  });
});
