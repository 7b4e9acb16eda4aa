// Browser tests of the built UI (mock backend) in headless Chromium: every flow of the app,
// an axe-core scan of each screen, and screenshots. `npm run test:browser` builds and runs them.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { assert, assertEq, axeScan, browseFolders, openDemoRepo, runAll, shot, test, text, uiRoot } from './harness.mjs';

const DEMO_PATH = '/home/demo/QCBackup/repository';
const INBOX = '/alice@contoso.example/Inbox';
const LARGE = '/alice@contoso.example/Newsletters';

async function start(page, base, query = '') {
  const params = new URLSearchParams({ mockDelay: '0', mockLarge: '100000' });
  for (const [k, v] of new URLSearchParams(query)) params.set(k, v);
  await page.goto(`${base}/?${params}`);
  await page.waitForSelector('#repo-form, #dashboard');
}

/** Opens the demo repository (the app lands on the dashboard) and goes to the snapshots. */
async function openDemo(page, base, query = '') {
  await start(page, base, query);
  await openDemoRepo(page);
  await page.waitForSelector('#dashboard');
  await page.click('#nav-snapshots');
  await page.waitForSelector('#snapshot-list .snapshot-row');
}

/** Opens the newest snapshot and browses to `path` (e.g. /alice@contoso.example/Inbox). */
async function browseTo(page, path) {
  await page.click('#snapshot-list .snapshot-row:first-child button');
  await browseFolders(page, path);
}

// ---------------------------------------------------------------- repository screen

test('first run: create a local repository (strength meter, lost-password warning, keychain option)', async ({ page, base }) => {
  await start(page, base);
  assertEq(await page.inputValue('#repo-path'), DEMO_PATH, 'default path');
  assert((await text(page, '#password-warning')).match(/password is lost/i), 'lost-password warning shown');
  assert(await page.isChecked('#repo-remember'), 'remember in keychain is on by default');
  assertEq(await page.getAttribute('#nav-snapshots', 'aria-disabled'), 'true', 'snapshots need a repository');
  await axeScan(page, 'first run');

  await page.fill('#repo-path', '/srv/qcb/new');
  await page.fill('#repo-password', 'password123');
  assertEq(await page.getAttribute('#password-strength', 'data-level'), 'weak', 'a well-known password is weak');
  await page.fill('#repo-password', 'Tr0ub4dor&3-horse-staple');
  assertEq(await page.getAttribute('#password-strength', 'data-level'), 'strong', 'strong password');
  await page.fill('#repo-password-confirm', 'Tr0ub4dor&3-horse-stapl');
  await page.waitForSelector('#repo-password-confirm-error');
  await page.fill('#repo-password-confirm', 'Tr0ub4dor&3-horse-staple');
  await shot(page, '01-first-run', '.mode');
  await page.click('#repo-submit');
  await page.waitForSelector('#sets-empty');
  assertEq(await page.getAttribute('#nav-dashboard', 'aria-current'), 'page', 'the dashboard is the start screen');
  assert((await text(page, '#repo-info')).includes('/srv/qcb/new'), 'header names the new repository');
  await page.click('#nav-snapshots');
  await page.waitForSelector('#backup-now');
  assert((await text(page, '#content')).includes('No snapshots yet'), 'empty repository');
  assertEq(await page.getAttribute('#nav-snapshots', 'aria-current'), 'page', 'snapshots screen is current');
  await axeScan(page, 'empty snapshot list');
});

test('first run: S3-compatible storage validates its fields and creates the repository', async ({ page, base }) => {
  await start(page, base);
  await page.click('#storage-s3');
  await page.waitForSelector('#s3-fields');
  assert((await page.locator('#repo-path').count()) === 0, 'no folder path for S3');
  await page.fill('#repo-password', 'correct horse battery staple');
  await page.fill('#repo-password-confirm', 'correct horse battery staple');
  await page.click('#repo-submit');
  await page.waitForSelector('#s3-endpoint-error');
  for (const id of ['s3-endpoint', 's3-bucket', 's3-access-key-id', 's3-secret-access-key']) {
    assertEq(await page.getAttribute(`#${id}`, 'aria-invalid'), 'true', `${id} flagged`);
  }
  assertEq(await page.evaluate(() => document.activeElement?.id), 's3-endpoint', 'focus moves to the first bad field');
  await axeScan(page, 'S3 form with errors');
  await page.fill('#s3-endpoint', 'http://127.0.0.1:8333');
  await page.fill('#s3-bucket', 'backups');
  await page.fill('#s3-prefix', '/contoso/');
  await page.fill('#s3-access-key-id', 'AKIDEXAMPLE');
  await page.fill('#s3-secret-access-key', 'wJalrXUtnFEMI/K7MDENG');
  assertEq(await page.inputValue('#s3-region'), 'us-east-1', 'default region');
  await shot(page, '02-first-run-s3', '.storage');
  await page.click('#repo-submit');
  await page.waitForSelector('#dashboard');
  assert((await text(page, '#repo-info')).includes('s3://backups/contoso'), 'header shows the bucket and prefix');
});

test('open: a wrong password shows a clear error, the right one opens the repository', async ({ page, base }) => {
  await start(page, base);
  await page.click('#mode-open');
  assert((await page.locator('#repo-password-confirm').count()) === 0, 'no confirmation when opening');
  await page.fill('#repo-password', 'not-the-password');
  await page.click('#repo-submit');
  await page.waitForSelector('#error');
  assert((await text(page, '#error')).includes('Wrong password'), 'message shown');
  assertEq(await text(page, '#error .error-code'), 'wrong_password', 'code shown');
  await axeScan(page, 'wrong password');
  await shot(page, '03-wrong-password');
  await page.fill('#repo-password', 'demo');
  await page.click('#repo-submit');
  await page.waitForSelector('#dashboard');
  assertEq(await page.locator('#error').count(), 0, 'error cleared');
  await page.click('#nav-snapshots');
  await page.waitForSelector('#snapshot-list .snapshot-row');
  assertEq(await page.locator('#snapshot-list .snapshot-row').count(), 3, 'three snapshots');
  const ids = await page.$$eval('.snapshot-row', (rows) => rows.map((r) => r.getAttribute('data-snapshot-id')));
  assert(ids.every((id) => id && id.length === 64), 'full ids on rows');
  await axeScan(page, 'snapshot list');
  await shot(page, '04-snapshot-list');
});

// ---------------------------------------------------------------- backup

test('backup: the progress bar moves to 100% and the report names the new snapshot', async ({ page, base }) => {
  await openDemo(page, base, '&mockDelay=40');
  await page.evaluate(() => {
    window.__progress = [];
    const seen = () => {
      const p = document.querySelector('#backup-progress');
      if (!p) return;
      const v = [Number(p.getAttribute('value') ?? 0), Number(p.getAttribute('max') ?? 0)];
      const last = window.__progress[window.__progress.length - 1];
      if (!last || last[0] !== v[0] || last[1] !== v[1]) window.__progress.push(v);
    };
    new MutationObserver(seen).observe(document.body, { subtree: true, childList: true, attributes: true });
  });
  await page.click('#backup-now');
  await page.waitForSelector('.backup-running');
  await page.waitForFunction(() => (window.__progress ?? []).length >= 3);
  await axeScan(page, 'backup running');
  await shot(page, '05-backup-running');
  await page.waitForSelector('#backup-report', { timeout: 30_000 });
  const seen = await page.evaluate(() => window.__progress);
  assert(seen.length >= 3, `bar moved through several values: ${JSON.stringify(seen)}`);
  assert(seen.every((v, i) => i === 0 || v[0] >= seen[i - 1][0]), `never goes back: ${JSON.stringify(seen)}`);
  const [value, max] = seen[seen.length - 1];
  assert(max > 0 && value === max, `reached 100%: ${JSON.stringify(seen)}`);
  await page.waitForFunction(() => document.querySelectorAll('#snapshot-list .snapshot-row').length === 4);
  const newest = await page.getAttribute('#snapshot-list .snapshot-row:first-child', 'data-snapshot-id');
  assert((await text(page, '#backup-report')).includes(newest.slice(0, 8)), 'report names the snapshot');
  assert((await text(page, '#backup-report')).includes('could not be backed up'), 'failed item listed');
  await axeScan(page, 'backup report');
  await shot(page, '06-backup-report');
});

test('backup: keeps running while the user visits Settings, and reports when back', async ({ page, base }) => {
  await openDemo(page, base, '&mockDelay=30');
  await page.click('#backup-now');
  await page.waitForSelector('.backup-running');
  await page.click('#nav-settings');
  await page.waitForSelector('#settings-form');
  assert((await text(page, '#job-status')).includes('Backing up'), 'the sidebar shows the running backup');
  await page.click('#nav-snapshots');
  await page.waitForSelector('#backup-report', { timeout: 30_000 });
  assertEq(await page.locator('#job-status').count(), 0, 'no job status once finished');
  assertEq(await page.locator('#snapshot-list .snapshot-row').count(), 4, 'new snapshot listed');
});

// ---------------------------------------------------------------- snapshot browser

test('browse: mailboxes, folders, breadcrumb and messages of a snapshot', async ({ page, base }) => {
  await openDemo(page, base);
  await page.click('#snapshot-list .snapshot-row:first-child button');
  await page.waitForSelector('#browser .folder-row[data-path="/alice@contoso.example"]');
  const mailboxes = await page.$$eval('#browser .folder-row', (r) => r.map((e) => e.getAttribute('data-path')));
  assertEq(mailboxes, ['/alice@contoso.example', '/bob@contoso.example'], 'mailboxes');
  await axeScan(page, 'snapshot root');
  await browseFolders(page, INBOX);
  await page.waitForSelector('#browser .item-row');
  const crumbs = await page.$$eval('#breadcrumb li', (l) => l.map((e) => e.textContent.trim()));
  assertEq(crumbs.slice(1), ['alice@contoso.example', 'Inbox'], 'breadcrumb');
  assert((await text(page, '#item-count')).includes('messages'), 'count shown');
  await axeScan(page, 'folder with messages');
  await page.click('#breadcrumb button[data-path="/alice@contoso.example"]');
  await page.waitForSelector('#breadcrumb [aria-current="page"][data-path="/alice@contoso.example"]');
  assertEq(await page.locator('#browser .item-row').count(), 0, 'no messages at the mailbox level');
  await page.click('#browser-back');
  await page.waitForSelector('#snapshot-list');
});

test('browse: 100,000 messages stay virtualised, sortable, filterable and keyboard-navigable', async ({ page, base }) => {
  await openDemo(page, base);
  await browseTo(page, LARGE);
  await page.waitForSelector('#item-list .item-row');
  assert((await text(page, '#item-count')).includes('100,000 messages'), 'all items counted');
  const rendered = () => page.locator('#item-list [role="option"]').count();
  assert((await rendered()) < 60, `only the visible rows are in the DOM (${await rendered()})`);
  assertEq(await page.getAttribute('#item-list [role="option"]', 'aria-setsize'), '100000', 'set size announced');

  // Newest first by default.
  const firstId = () => page.getAttribute('#item-list [role="option"]:first-child .item-row', 'data-item-id');
  assertEq(await firstId(), 'AAMk-alice-newsletters-100000', 'newest first');

  // Scrolling: frames stay short and the rows follow. The median frame, not the worst: a busy
  // machine (another job on CI) stalls a frame now and then, while a list that rendered all
  // 100,000 rows would be slow on every frame (the DOM counts above and below prove the
  // virtualisation itself).
  const median = await page.evaluate(async () => {
    const list = document.querySelector('#item-list');
    const frames = [];
    let last = performance.now();
    for (let i = 0; i < 60; i++) {
      list.scrollTop += 2_000;
      await new Promise((r) => requestAnimationFrame(r));
      const now = performance.now();
      frames.push(now - last);
      last = now;
    }
    frames.sort((a, b) => a - b);
    return frames[frames.length >> 1];
  });
  assert(median < 100, `scrolling frames stay short (median ${median.toFixed(0)} ms)`);
  assert((await rendered()) < 60, 'still only the visible rows after scrolling');
  const pos = Number(await page.getAttribute('#item-list [role="option"]:first-child', 'aria-posinset'));
  assert(pos > 1_000, `rows follow the scroll position (first rendered row ${pos})`);

  // Keyboard: focus the list, move with the arrows, End and Home.
  await page.focus('#item-list');
  await page.keyboard.press('Home');
  await page.keyboard.press('ArrowDown');
  await page.keyboard.press('ArrowDown');
  let active = await page.getAttribute('#item-list', 'aria-activedescendant');
  assertEq(await page.getAttribute(`#${active}`, 'aria-posinset'), '3', 'two rows down from the top');
  await page.waitForSelector('#preview-subject');
  await page.keyboard.press('End');
  active = await page.getAttribute('#item-list', 'aria-activedescendant');
  assertEq(await page.getAttribute(`#${active}`, 'aria-posinset'), '100000', 'End reaches the last message');
  assertEq(await page.getAttribute(`#${active} .item-row`, 'data-item-id'), 'AAMk-alice-newsletters-1', 'oldest last');
  await page.keyboard.press('PageUp');
  active = await page.getAttribute('#item-list', 'aria-activedescendant');
  assert(Number(await page.getAttribute(`#${active}`, 'aria-posinset')) < 100000, 'Page Up moves up');
  await axeScan(page, 'large folder');
  await shot(page, '07-large-folder', '#breadcrumb');

  // Sort by subject, then size (largest first), timing each.
  let t0 = Date.now();
  await page.click('.sort-button[data-sort="subject"]');
  await page.waitForFunction(() => document.querySelector('#item-count')?.textContent?.includes('subject'));
  const sortMs = Date.now() - t0;
  assert(sortMs < 2_000, `sorting 100,000 messages is quick (${sortMs} ms)`);
  assertEq(await page.getAttribute('.sort-button[data-sort="subject"]', 'aria-pressed'), 'true', 'subject sort on');
  const subjects = await page.$$eval('#item-list .subject', (s) => s.map((e) => e.textContent.toLowerCase()));
  assert(subjects.every((s, i) => i === 0 || subjects[i - 1] <= s), `subjects A to Z: ${subjects.slice(0, 5)}`);
  await page.click('.sort-button[data-sort="size"]');
  await page.waitForFunction(() => document.querySelector('#item-count')?.textContent?.includes('size'));
  const sizes = await page.$$eval('#item-list [role="option"] .item-row', (rows) => rows.map((r) => r.getAttribute('data-item-id')));
  assert(sizes.length > 0, 'rows after size sort');
  await page.click('.sort-button[data-sort="from"]');
  await page.waitForFunction(() => document.querySelector('#item-count')?.textContent?.includes('sender'));
  await page.click('.sort-button[data-sort="from"]');
  await page.waitForFunction(() => document.querySelector('#item-count')?.textContent?.includes('descending'));

  // Filter.
  t0 = Date.now();
  await page.fill('#item-filter', '#99999');
  await page.waitForFunction(() => document.querySelector('#item-count')?.textContent?.startsWith('1 of 100,000'));
  assert(Date.now() - t0 < 2_000, 'filtering is quick');
  assertEq(await page.locator('#item-list .item-row').count(), 1, 'one match');
  await page.fill('#item-filter', 'no such message anywhere');
  await page.waitForSelector('.no-match');
  await page.fill('#item-filter', '');
  await page.waitForFunction(() => document.querySelector('#item-count')?.textContent?.includes('100,000 messages'));
});

// ---------------------------------------------------------------- preview

/**
 * Chromium reports each inline event handler and <base> of the mail as a CSP violation
 * already while DOMPurify parses it in an inert document: the app's CSP blocks it there, then
 * DOMPurify drops it. Those reports are expected; any other console error still fails.
 */
const inlineHandlerBlocked = (msg) =>
  msg.startsWith('Executing inline event handler violates') || msg.startsWith("Setting the document's base URI");

test('preview: hostile HTML runs no script or handler and loads nothing remote until asked', async ({ page, base, state }) => {
  state.allowConsoleError = inlineHandlerBlocked;
  await openDemo(page, base);
  await page.evaluate(() => {
    window.__messages = [];
    window.addEventListener('message', (e) => window.__messages.push(String(e.data)));
  });
  await browseTo(page, INBOX);
  await page.click('#item-list .item-row[data-item-id="AAMk-alice-inbox-1"]');
  await page.waitForSelector('#preview-frame');
  const frame = page.locator('#preview-frame');
  assertEq(await frame.getAttribute('sandbox'), '', 'frame fully sandboxed');
  const srcdoc = await frame.getAttribute('srcdoc');
  const lower = srcdoc.toLowerCase();
  for (const bad of ['<script', 'onerror', 'onclick', 'onload', 'onfocus', 'onmouseover', 'javascript:', 'tracker.example',
    '<iframe', '<form', '<input', '<svg', '<object', '<embed', '<video', '<link', '<base', 'http-equiv="refresh"', 'href=']) {
    assert(!lower.includes(bad), `preview document has no ${bad}`);
  }
  assert(srcdoc.includes('Spring newsletter') && srcdoc.includes('Table cell'), 'content is shown');
  assert(srcdoc.includes('data:image/gif;base64'), 'inline images stay');
  assert(srcdoc.includes('title="https://contoso.example/unsubscribe"'), 'link address kept as a tooltip');
  assert(srcdoc.includes("default-src 'none'"), 'frame has its own CSP');
  // @import, bg.png, style.png, pixel, protocol-relative, srcset, table background
  // (the video's poster goes with the video element).
  assert((await text(page, '#remote-blocked')).includes('7 remote'), `blocked count: ${await text(page, '#remote-blocked')}`);
  assert((await text(page, '#remote-blocked')).match(/remote/i), 'blocked content is announced');
  // Inside the frame: no script element, images without a source, and nothing ran.
  const inner = page.frameLocator('#preview-frame');
  await inner.locator('h1').waitFor();
  assertEq(await inner.locator('script').count(), 0, 'no script element');
  assertEq(await inner.locator('img[src]').count(), 1, 'only the inline image has a source');
  assertEq(await inner.locator('img[src^="data:"]').count(), 1, 'the inline image');
  // Hover and click where handlers were: nothing runs.
  await inner.locator('text=Styled paragraph.').hover();
  await inner.locator('text=Unsubscribe').click();
  await inner.locator('text=Preferences').click();
  await page.waitForTimeout(300);
  assertEq(await page.evaluate(() => window.__messages), [], 'no script or handler ran');
  assertEq(state.remote, [], 'no remote request');
  assert((await text(page, '#preview-from')).length > 0, 'sender shown');
  assertEq(await page.locator('#preview-attachments').count(), 0, 'no attachments on this one');
  await axeScan(page, 'preview');
  await shot(page, '08-preview-remote-blocked', '#breadcrumb');

  // The user asks: the remote image is put back, and the app's CSP lets it load (this test
  // answers no request that leaves 127.0.0.1, so the load fails with ERR_FAILED here).
  state.allowConsoleError = (msg) =>
    inlineHandlerBlocked(msg) || msg.includes('tracker.example') || msg.includes('net::ERR_FAILED');
  await page.click('#show-remote');
  await page.waitForFunction(() => document.querySelector('#preview-frame')?.getAttribute('srcdoc')?.includes('tracker.example/pixel.gif'));
  const after = await frame.getAttribute('srcdoc');
  assert(!after.includes('<script') && !after.includes('onerror'), 'still no script or handler');
  await page.waitForTimeout(300);
  assertEq(await page.evaluate(() => window.__messages), [], 'still nothing ran');
  for (let i = 0; i < 50 && !state.remote.some((u) => u.includes('tracker.example/pixel.gif')); i++) {
    await page.waitForTimeout(100);
  }
  assert(
    state.remote.some((u) => u.includes('tracker.example/pixel.gif')),
    `the image the user asked for is requested: ${state.remote.join(', ')}`,
  );
  state.remote.length = 0; // requests the user asked for
});

test('preview: plain-text message, attachments and keyboard selection', async ({ page, base, state }) => {
  state.allowConsoleError = inlineHandlerBlocked;
  await openDemo(page, base);
  await browseTo(page, INBOX);
  await page.click('#item-list .item-row[data-item-id="AAMk-alice-inbox-2"]');
  await page.waitForSelector('#preview-text');
  assert((await text(page, '#preview-text')).includes('<b>not bold</b>'), 'text shown as text');
  assertEq(await page.locator('#preview-frame').count(), 0, 'no frame for text');
  assert((await text(page, '#preview-attachments')).includes('Report-2.pdf'), 'attachments listed');
  await page.keyboard.press('ArrowDown');
  await page.waitForFunction(() => !document.querySelector('#preview-text'));
  await page.waitForSelector('#preview-frame');
  await axeScan(page, 'text preview');
});

// ---------------------------------------------------------------- settings, theme, navigation

test('settings: theme, concurrency and log level are saved; dark theme applies across screens', async ({ page, base }) => {
  await openDemo(page, base);
  assertEq(await page.getAttribute('html', 'data-theme'), 'light', 'system theme (light) by default');
  await page.click('#nav-settings');
  await page.waitForSelector('#settings-form');
  assert(await page.isChecked('#theme-system'), 'follows the system by default');
  assertEq(await page.inputValue('#settings-concurrency'), '4', 'default concurrency');
  assertEq(await page.inputValue('#settings-log-level'), 'info', 'default log level');
  await axeScan(page, 'settings');
  await shot(page, '09-settings');

  await page.fill('#settings-concurrency', '0');
  await page.waitForSelector('#settings-concurrency-error');
  assert(await page.isDisabled('#settings-save'), 'cannot save an invalid value');
  await page.fill('#settings-concurrency', '8');
  await page.selectOption('#settings-log-level', 'debug');
  await page.check('#theme-dark');
  await page.click('#settings-save');
  await page.waitForSelector('#settings-saved:has-text("saved")');
  assertEq(await page.getAttribute('html', 'data-theme'), 'dark', 'dark theme applied');
  const bg = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
  assertEq(bg, 'rgb(15, 18, 23)', 'dark background');
  await axeScan(page, 'settings (dark)');
  await shot(page, '10-settings-dark');

  // Still saved when the screen is opened again.
  await page.click('#nav-snapshots');
  await page.waitForSelector('#snapshot-list');
  await axeScan(page, 'snapshot list (dark)');
  await browseTo(page, INBOX);
  await page.click('#item-list .item-row[data-item-id="AAMk-alice-inbox-3"]');
  await page.waitForSelector('#preview-frame');
  await axeScan(page, 'browser (dark)');
  await shot(page, '11-browser-dark', '#breadcrumb');
  await page.click('#nav-settings');
  assert(await page.isChecked('#theme-dark'), 'theme kept');
  assertEq(await page.inputValue('#settings-concurrency'), '8', 'concurrency kept');
  assertEq(await page.inputValue('#settings-log-level'), 'debug', 'log level kept');
});

test('settings: notifications, tray and start at login are saved and still set after a reload; the log folder opens', async ({ page, base }) => {
  await start(page, base);
  await page.click('#nav-settings');
  await page.waitForSelector('#settings-form');
  assert(!(await page.isChecked('#settings-notify-success')), 'no success notifications by default');
  assert(await page.isChecked('#settings-close-to-tray'), 'closes to the tray by default');
  assert(!(await page.isChecked('#settings-start-at-login')), 'does not start at login by default');
  assert((await text(page, '#settings-log-dir')).endsWith('/logs'), 'the log folder is named');
  await axeScan(page, 'settings (desktop)');

  await page.click('#settings-open-logs');
  await page.waitForTimeout(100);
  assertEq(await page.locator('#error').count(), 0, 'opening the log folder reports no error');

  // Labels are clickable: toggle through them.
  await page.click('label[for="settings-notify-success"]');
  await page.uncheck('#settings-close-to-tray');
  await page.check('#settings-start-at-login');
  await page.click('#settings-save');
  await page.waitForSelector('#settings-saved:has-text("saved")');
  await shot(page, '14-settings-desktop', '#settings-notify-success');

  await page.reload();
  await page.waitForSelector('#repo-form');
  await page.click('#nav-settings');
  await page.waitForSelector('#settings-form');
  assert(await page.isChecked('#settings-notify-success'), 'notify on success kept after a reload');
  assert(!(await page.isChecked('#settings-close-to-tray')), 'close to tray kept after a reload');
  assert(await page.isChecked('#settings-start-at-login'), 'start at login kept after a reload');
  await axeScan(page, 'settings (desktop, saved)');
});

test('settings: "Follow the system" tracks the OS colour scheme as it changes', async ({ page, base }) => {
  await start(page, base);
  assertEq(await page.getAttribute('html', 'data-theme'), 'light', 'light OS');
  await page.emulateMedia({ colorScheme: 'dark' });
  await page.waitForFunction(() => document.documentElement.dataset.theme === 'dark');
  await axeScan(page, 'first run (dark)');
  await shot(page, '12-first-run-dark');
  await page.click('#nav-settings');
  await page.check('#theme-light');
  await page.click('#settings-save');
  await page.waitForFunction(() => document.documentElement.dataset.theme === 'light');
  await page.emulateMedia({ colorScheme: 'dark' });
  await page.waitForTimeout(100);
  assertEq(await page.getAttribute('html', 'data-theme'), 'light', 'an explicit choice wins over the OS');
});

test('navigation: only working screens are offered; screens need a repository where they should', async ({ page, base }) => {
  await start(page, base);
  const nav = await page.$$eval('nav[aria-label="Main"] button', (b) => b.map((e) => e.textContent.trim()));
  assertEq(nav, ['Dashboard', 'Snapshots', 'Search', 'History', 'Repository', 'Settings'], 'sidebar entries');
  await page.click('#nav-snapshots', { force: true }); // aria-disabled: nothing happens
  assert((await page.locator('#repo-form').count()) === 1, 'still on the repository screen');
  await page.click('#nav-settings');
  await page.waitForSelector('#settings-form');
  assertEq(await text(page, '.page-title'), 'Settings', 'title follows the screen');
  await page.click('#nav-repository');
  await page.waitForSelector('#repo-form');
  // Keyboard: the sidebar is reachable with Tab and buttons work with Enter.
  await page.focus('#nav-settings');
  await page.keyboard.press('Enter');
  await page.waitForSelector('#settings-form');
});

test('layout: the smallest window (800×560) keeps the top bar on one line and the browser usable', async ({ page, base }) => {
  await page.setViewportSize({ width: 800, height: 560 });
  await openDemo(page, base);
  const barHeight = await page.evaluate(() => document.querySelector('.topbar').getBoundingClientRect().height);
  assert(barHeight < 80, `top bar height ${barHeight}`);
  await browseTo(page, INBOX);
  await page.click('#item-list .item-row[data-item-id="AAMk-alice-inbox-3"]');
  await page.waitForSelector('#preview-frame');
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
  assert(overflow <= 0, `no horizontal scrolling (${overflow} px)`);
  await axeScan(page, 'browser at 800×560');
  await shot(page, '13-small-window', '#breadcrumb');
});

test('the desktop bundle (dist/) contains no mock backend', async () => {
  const dist = join(uiRoot, 'dist', 'assets');
  assert(existsSync(dist), 'dist/ is built (npm run build) before the browser tests');
  const js = readdirSync(dist).filter((f) => f.endsWith('.js'));
  assert(js.length > 0, 'dist has scripts');
  for (const f of js) {
    const src = readFileSync(join(dist, f), 'utf8');
    for (const marker of ['Megan Bowen', 'tracker.example', 'mockLarge']) {
      assert(!src.includes(marker), `${f} contains mock data (${marker})`);
    }
  }
  const mock = readdirSync(join(uiRoot, 'dist-mock', 'assets')).filter((f) => f.endsWith('.js'));
  assert(mock.some((f) => readFileSync(join(uiRoot, 'dist-mock', 'assets', f), 'utf8').includes('Megan Bowen')), 'the markers are mock-only');
});

import './sets.mjs';
import './restore.mjs';
import './versions.mjs';

const ok = await runAll({ root: join(uiRoot, 'dist-mock') });
process.exit(ok ? 0 : 1);
