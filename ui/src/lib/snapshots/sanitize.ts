// Mail HTML is hostile input. It is shown only inside <iframe sandbox=""> (no scripts, no
// same-origin, no forms, no popups), after DOMPurify removed scripts, event handlers and
// active elements, and with remote content (http/https images, CSS url(), @import)
// removed unless the user asked for it. The frame's own CSP blocks whatever slips through.
import DOMPurify, { type DOMPurify as Purifier } from 'dompurify';

const REMOTE_URL = /^\s*(?:(?:https?:)?\/\/)/i;
const CSS_URL = /url\(\s*(['"]?)(.*?)\1\s*\)/gi;
const CSS_IMPORT = /@import\s+(?:url\()?\s*['"]?\s*(?:(?:https?:)?\/\/)[^;]*;?/gi;
const URL_ATTRS = ['src', 'srcset', 'background', 'poster', 'lowsrc', 'dynsrc', 'data'];

export type SanitizedMail = {
  /** Safe body HTML ("" when this webview cannot sanitise: see `supported`). */
  html: string;
  /**
   * False when the sanitiser does not work in this environment (DOMPurify returns its input
   * unchanged where the DOM lacks what it needs). The caller then shows no HTML at all.
   */
  supported: boolean;
  /** How many remote references were removed (0 when remote content was allowed). */
  remoteBlocked: number;
};

function stripCssUrls(css: string, allowRemote: boolean, count: () => void): string {
  if (allowRemote) return css;
  return css
    .replace(CSS_IMPORT, () => {
      count();
      return '';
    })
    .replace(CSS_URL, (whole, _q: string, url: string) => {
      if (!REMOTE_URL.test(url)) return whole;
      count();
      return 'none';
    });
}

let purifier: Purifier | null = null;
let works: boolean | null = null;

/** Markup that must never survive sanitising (checked on every result: fail closed). */
const ACTIVE = /<\s*(script|iframe|object|embed|form|base|meta|link)\b|<[^>]*\son[a-z]+\s*=|<[^>]*javascript:/i;

/** Sanitises a message's HTML body for the preview frame. */
export function sanitizeMail(html: string, allowRemote: boolean): SanitizedMail {
  purifier ??= DOMPurify(window);
  const purify = purifier;
  // Once per page: a canary proves the sanitiser really removes things here. (No event
  // handler in it: Chromium reports those as CSP violations while merely parsing.)
  works ??=
    purify.isSupported &&
    !ACTIVE.test(String(purify.sanitize('<a href="javascript:alert(1)">x</a><script>alert(2)</script><p>ok</p>')));
  if (!works) return { html: '', supported: false, remoteBlocked: 0 };
  let remoteBlocked = 0;
  const count = () => remoteBlocked++;
  purify.removeAllHooks();
  purify.addHook('afterSanitizeAttributes', (node) => {
    const el = node as Element;
    if (typeof el.getAttribute !== 'function') return;
    for (const attr of URL_ATTRS) {
      const value = el.getAttribute(attr);
      if (value === null) continue;
      // Only srcset lists several addresses (a data: URI has a comma of its own).
      const parts = attr === 'srcset' ? value.split(',') : [value];
      const remote = parts.some((part) => REMOTE_URL.test(part));
      // Inline data stays; remote addresses only when allowed; anything else (relative
      // paths, cid: parts) cannot be resolved in the frame and would point at the app.
      const inline = parts.every((part) => /^\s*data:/i.test(part));
      if (inline || (remote && allowRemote)) continue;
      el.removeAttribute(attr);
      if (remote) count();
    }
    // Links do not navigate the frame; the address stays visible as a tooltip.
    if (el.hasAttribute('href')) {
      const href = el.getAttribute('href') ?? '';
      el.removeAttribute('href');
      if (href && !href.startsWith('#')) el.setAttribute('title', href);
    }
    const style = el.getAttribute('style');
    if (style) el.setAttribute('style', stripCssUrls(style, allowRemote, count));
  });
  purify.addHook('uponSanitizeElement', (node, data) => {
    if (data.tagName === 'style' && node.textContent) {
      node.textContent = stripCssUrls(node.textContent, allowRemote, count);
    }
  });
  const clean = purify.sanitize(html, {
    FORCE_BODY: true,
    ADD_TAGS: ['style'],
    FORBID_TAGS: [
      'script', 'iframe', 'frame', 'frameset', 'object', 'embed', 'applet', 'form', 'input', 'button',
      'textarea', 'select', 'option', 'link', 'meta', 'base', 'video', 'audio', 'source', 'track',
      'picture', 'svg', 'math', 'template', 'portal',
    ],
    FORBID_ATTR: ['ping', 'action', 'formaction', 'target', 'srcdoc'],
    ALLOW_DATA_ATTR: false,
  });
  purify.removeAllHooks();
  const out = String(clean);
  // Text that merely looks like markup is escaped by the serialiser, so a match here means
  // a real element or attribute got through: show nothing rather than risk it.
  if (ACTIVE.test(out)) return { html: '', supported: false, remoteBlocked: 0 };
  return { html: out, supported: true, remoteBlocked };
}

const FRAME_CSS =
  'html{color-scheme:light}body{margin:0;padding:16px;font:14px/1.5 system-ui,sans-serif;color:#19212d;background:#fff;overflow-wrap:anywhere}img{max-width:100%;height:auto}table{max-width:100%}';

/** The whole document for `<iframe sandbox="" srcdoc>`, with a CSP of its own. */
export function frameDocument(body: string, allowRemote: boolean): string {
  const csp = allowRemote
    ? "default-src 'none'; img-src data: http: https:; style-src 'unsafe-inline' http: https:; font-src data: http: https:"
    : "default-src 'none'; img-src data:; style-src 'unsafe-inline'; font-src data:";
  return (
    '<!doctype html><html><head><meta charset="utf-8">' +
    `<meta http-equiv="Content-Security-Policy" content="${csp}">` +
    '<meta name="referrer" content="no-referrer">' +
    `<style>${FRAME_CSS}</style></head><body>${body}</body></html>`
  );
}
