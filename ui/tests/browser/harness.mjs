// A small harness for the browser tests: serves the mock build on 127.0.0.1 with the app's
// real CSP, drives Debian's Chromium through playwright-core, scans pages with axe-core, and
// prints one line per test plus "N passed, N failed".
import { createServer } from 'node:http';
import { mkdirSync, readFileSync, existsSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, extname, join, normalize, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';
import { chromium } from 'playwright-core';

const here = dirname(fileURLToPath(import.meta.url));
export const uiRoot = resolve(here, '../..');
const require = createRequire(import.meta.url);
const AXE_SOURCE = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');

/** The CSP the desktop app runs under (src-tauri/tauri.conf.json), so the tests prove the UI works with it. */
export function appCsp() {
  const conf = resolve(uiRoot, '../src-tauri/tauri.conf.json');
  const fallback =
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'";
  if (!existsSync(conf)) return fallback;
  const csp = JSON.parse(readFileSync(conf, 'utf8'))?.app?.security?.csp;
  return typeof csp === 'string' ? csp : fallback;
}

const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json',
};

/** Serves `root` on 127.0.0.1 (a free port); unknown paths get index.html. */
export async function serve(root) {
  const csp = appCsp();
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    let file = normalize(join(root, decodeURIComponent(url.pathname)));
    if (!file.startsWith(root) || !existsSync(file) || statSync(file).isDirectory()) file = join(root, 'index.html');
    res.writeHead(200, {
      'Content-Type': TYPES[extname(file)] ?? 'application/octet-stream',
      'Content-Security-Policy': csp,
      'Cache-Control': 'no-store',
    });
    res.end(readFileSync(file));
  });
  await new Promise((ok) => server.listen(0, '127.0.0.1', ok));
  const { port } = server.address();
  return { url: `http://127.0.0.1:${port}`, close: () => new Promise((ok) => server.close(ok)) };
}

export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export function launch() {
  // launch() gives every run a fresh, temporary user data dir.
  return chromium.launch({
    executablePath: process.env.QCB_CHROMIUM ?? '/usr/bin/chromium',
    args: CHROMIUM_ARGS,
    headless: true,
  });
}

export const screenshotDir = process.env.QCB_UI_SCREENSHOTS ?? join(tmpdir(), 'qcb-ui-screenshots');
mkdirSync(screenshotDir, { recursive: true });

export class AssertionError extends Error {}
export function assert(condition, message) {
  if (!condition) throw new AssertionError(message);
}
export function assertEq(actual, expected, message) {
  const a = JSON.stringify(actual);
  const e = JSON.stringify(expected);
  if (a !== e) throw new AssertionError(`${message}: expected ${e}, got ${a}`);
}

/**
 * Runs axe-core on the page (the preview frame is left out: it is sandboxed mail content) and
 * fails on serious or critical violations. Returns the violations of lower impact.
 */
export async function axeScan(page, name) {
  // page.evaluate runs through the DevTools protocol, so the app's CSP does not block it.
  await page.evaluate(`${AXE_SOURCE};0`);
  // Colours read mid-transition (a theme switch fades button backgrounds for 120 ms) are
  // neither theme's: wait until no CSS transition is running.
  await page.waitForFunction(() =>
    document.getAnimations().every((a) => !(a instanceof CSSTransition) || a.playState !== 'running'),
  );
  const violations = await page.evaluate(async () => {
    const result = await window.axe.run(document, {
      resultTypes: ['violations'],
      iframes: false,
      exclude: [['iframe']],
    });
    return result.violations.map((v) => ({
      id: v.id,
      impact: v.impact,
      help: v.help,
      nodes: v.nodes.slice(0, 5).map((n) => `${n.target.join(' ')}: ${n.failureSummary?.split('\n').slice(0, 3).join(' ')}`),
    }));
  });
  const bad = violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  assert(
    bad.length === 0,
    `axe (${name}): ${bad.map((v) => `[${v.impact}] ${v.id}: ${v.help}\n      ${v.nodes.join('\n      ')}`).join('\n    ')}`,
  );
  for (const v of violations) console.log(`    note: axe (${name}) [${v.impact}] ${v.id}: ${v.help} (${v.nodes[0]})`);
  return violations;
}

/** The visible text of the first element matching `sel`. */
export const text = (page, sel) => page.locator(sel).innerText();

/** On the repository screen: opens the demo repository (password "demo"). */
export async function openDemoRepo(page) {
  await page.click('#mode-open');
  await page.fill('#repo-password', 'demo');
  await page.click('#repo-submit');
}

/**
 * In an open snapshot: expands the folders down to `path` (e.g. /alice@contoso.example/Inbox),
 * waiting for the breadcrumb at each level.
 */
export async function browseFolders(page, path) {
  const parts = path.split('/').filter(Boolean);
  for (let i = 1; i <= parts.length; i++) {
    const p = `/${parts.slice(0, i).join('/')}`;
    await page.click(`#browser .folder-row[data-path="${p}"]`);
    await page.waitForSelector(`#breadcrumb [aria-current="page"][data-path="${p}"]`);
  }
}

/** Saves a screenshot; with `top`, the page is first scrolled so that element sits under the top bar. */
export async function shot(page, name, top) {
  if (top) {
    await page.evaluate((sel) => {
      const el = document.querySelector(sel);
      const bar = document.querySelector('.topbar')?.getBoundingClientRect().height ?? 0;
      if (el) window.scrollTo(0, el.getBoundingClientRect().top + window.scrollY - bar - 12);
    }, top);
  }
  await page.screenshot({ path: join(screenshotDir, `${name}.png`), fullPage: false });
}

const tests = [];
/** Registers a test: `fn({ page, base, ctx })`. */
export function test(name, fn) {
  tests.push({ name, fn });
}

/**
 * Runs every test in its own browser context. Each page must load nothing from outside
 * 127.0.0.1 and log no errors (a CSP violation is an error), unless the test allows it.
 */
export async function runAll({ root }) {
  const filter = process.env.QCB_BROWSER_TEST_FILTER;
  const server = await serve(root);
  const browser = await launch();
  let passed = 0;
  let failed = 0;
  const started = Date.now();
  try {
    for (const t of tests) {
      if (filter && !t.name.includes(filter)) continue;
      const ctx = await browser.newContext({ viewport: { width: 1280, height: 800 }, colorScheme: 'light' });
      const page = await ctx.newPage();
      const problems = [];
      const state = { allowConsoleError: () => false, remote: [] };
      page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
      page.on('console', (m) => {
        if (m.type() === 'error' && !state.allowConsoleError(m.text())) problems.push(`console error: ${m.text()}`);
      });
      await ctx.route(
        (url) => !url.href.startsWith(server.url) && !url.href.startsWith('data:') && !url.href.startsWith('about:'),
        (route) => {
          state.remote.push(route.request().url());
          return route.abort();
        },
      );
      const t0 = Date.now();
      try {
        page.setDefaultTimeout(15_000);
        await Promise.race([
          t.fn({ page, base: server.url, ctx, state }),
          new Promise((_, reject) => setTimeout(() => reject(new Error('test timed out after 90 s')), 90_000)),
        ]);
        assert(state.remote.length === 0, `requests left 127.0.0.1: ${state.remote.join(', ')}`);
        assert(problems.length === 0, problems.join('\n    '));
        passed++;
        console.log(`ok - ${t.name} (${Date.now() - t0} ms)`);
      } catch (e) {
        failed++;
        console.log(`not ok - ${t.name}\n    ${String(e?.stack ?? e).split('\n').slice(0, 8).join('\n    ')}`);
        await shot(page, `FAILED-${t.name.replace(/[^a-z0-9]+/gi, '-')}`).catch(() => {});
      } finally {
        await ctx.close();
      }
    }
  } finally {
    await browser.close();
    await server.close();
  }
  console.log(`\nscreenshots: ${screenshotDir}`);
  console.log(`browser tests finished in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  console.log(`${passed} passed, ${failed} failed`);
  return failed === 0 && passed > 0;
}
