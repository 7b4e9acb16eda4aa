// Browser tests of search, the restore wizard and export (registered with the harness; run by
// run.mjs).
import { assert, assertEq, axeScan, browseFolders, openDemoRepo, shot, test, text } from './harness.mjs';

const ALICE = 'alice@contoso.example';
const INBOX = `/${ALICE}/Inbox`;
const PROJECTS = `${INBOX}/Projects`;

/** Opens the demo repository (password "demo") and waits until the app is ready. */
async function openRepo(page, base, query = '') {
  const params = new URLSearchParams({ mockDelay: '0', mockLarge: '0' });
  for (const [k, v] of new URLSearchParams(query)) params.set(k, v);
  await page.goto(`${base}/?${params}`);
  await page.waitForSelector('#repo-form');
  await openDemoRepo(page);
  await page.waitForSelector('#nav-search[aria-disabled="false"]');
}

/** The snapshot list, then the newest snapshot browsed down to `path`. */
async function browseNewest(page, path) {
  await page.click('#nav-snapshots');
  await page.waitForSelector('#snapshot-list .snapshot-row');
  await page.click('#snapshot-list .snapshot-row:first-child .short-id');
  await browseFolders(page, path);
}

/** Records every value the restore progress bar takes (window.__restoreProgress). */
async function recordProgress(page) {
  await page.evaluate(() => {
    window.__restoreProgress = [];
    const seen = () => {
      const p = document.querySelector('#restore-progress');
      if (!p) return;
      const v = [Number(p.getAttribute('value') ?? 0), Number(p.getAttribute('max') ?? 0)];
      const last = window.__restoreProgress.at(-1);
      if (!last || last[0] !== v[0] || last[1] !== v[1]) window.__restoreProgress.push(v);
    };
    new MutationObserver(seen).observe(document.body, { subtree: true, childList: true, attributes: true });
  });
}

/** The page scrolls only vertically. */
async function noSideways(page, what) {
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
  assert(overflow <= 0, `${what}: no horizontal scrolling (${overflow} px)`);
}

const step = (page) => page.getAttribute('#restore-dialog', 'data-step');
async function next(page, expected) {
  await page.click('#restore-next');
  await page.waitForSelector(`#restore-dialog[data-step="${expected}"]`);
  // Focus moves to the new step's heading (screen readers read where they are).
  await page.waitForFunction(() => document.activeElement?.id === 'restore-step-heading', null, { timeout: 2_000 });
}

/** From the review step: waits for the dry run, runs, and waits for the report. */
async function runFromReview(page) {
  await page.waitForSelector('#restore-summary[aria-busy="false"]');
  await page.click('#restore-run');
  await page.waitForSelector('#restore-dialog[data-step="result"] #restore-done', { timeout: 30_000 });
}

// ---------------------------------------------------------------- search → restore

test('search: a message found with its snippet highlighted, previewed, shown in its snapshot and restored to a new folder', async ({ page, base }) => {
  await openRepo(page, base, '&mockDelay=40');
  await page.click('#nav-search');
  await page.waitForSelector('#search-query');
  assertEq(await page.getAttribute('#nav-search', 'aria-current'), 'page', 'search screen is current');
  await noSideways(page, 'search');
  await axeScan(page, 'search (empty)');

  // Bad syntax: explained under the box.
  await page.fill('#search-query', '"budget');
  await page.click('#search-submit');
  await page.waitForSelector('#search-error');
  assertEq(await page.getAttribute('#search-query', 'aria-invalid'), 'true', 'query flagged');

  await page.fill('#search-query', 'budget');
  await page.press('#search-query', 'Enter');
  await page.waitForSelector('#search-results .hit-row');
  assertEq(await page.locator('#search-error').count(), 0, 'error gone');
  const count = await text(page, '#search-count');
  assert(/\d+ results?/.test(count), `count shown: ${count}`);
  const marks = await page.$$eval('#search-results .snippet mark', (m) => m.map((e) => e.textContent.toLowerCase()));
  assert(marks.length > 0 && marks.every((m) => m === 'budget'), `matched words marked: ${marks}`);
  const subjects = await page.$$eval('#search-results .hit-row .subject', (s) => s.map((e) => e.textContent));
  assert(subjects.every((s) => /budget/i.test(s)), `hits match: ${subjects}`);

  // Filters: only Bob's mailbox, latest snapshot.
  await page.selectOption('#search-mailbox', 'bob@contoso.example');
  await page.check('#search-snapshot-latest');
  await page.click('#search-submit');
  await page.waitForFunction(() => document.querySelector('#search-count')?.textContent !== '' && !document.querySelector('#search-submit[disabled]'));
  const places = await page.$$eval('#search-results .hit-row .place', (p) => p.map((e) => e.textContent));
  assert(places.every((p) => p.startsWith('bob@contoso.example')), `only bob: ${places}`);
  await page.click('#search-clear');
  await page.check('#search-snapshot-all');
  assertEq(await page.inputValue('#search-mailbox'), '', 'filters cleared');
  await page.click('#search-submit');
  await page.waitForFunction(() => !document.querySelector('#search-submit[disabled]'));
  await page.waitForSelector('#search-results .hit-row');

  // Preview the first hit (the snapshot preview, sanitised frame).
  await page.click('#search-results [role="option"]:first-child .hit-row');
  await page.waitForSelector('#preview-subject');
  const firstSubject = await text(page, '#search-results [role="option"]:first-child .subject');
  assertEq(await text(page, '#preview-subject'), firstSubject, 'preview shows the hit');
  await page.waitForSelector('#search-hit-actions #search-restore-hit');
  await axeScan(page, 'search results with preview');
  await shot(page, '20-search');

  // Multi-select: Space and Ctrl+A check hits; the restore button counts them.
  await page.focus('#search-results');
  await page.keyboard.press('Space');
  assertEq(await text(page, '#search-selected'), '1 result selected', 'Space checks the active hit');
  assertEq(await page.getAttribute('#search-results', 'aria-multiselectable'), 'true', 'multi-select list');
  await page.keyboard.press('Control+a');
  const total = await page.locator('#search-results [role="option"]').count();
  assert((await text(page, '#search-restore-selected')).includes(`${total}`), 'restore button counts the checked hits');
  await page.click('#search-restore-selected');
  await page.waitForSelector('#restore-dialog[open]');
  assertEq(await page.locator('#restore-what .what-item').count(), total, 'every checked hit is in the wizard');
  await page.click('#restore-close');
  await page.waitForSelector('#restore-dialog', { state: 'detached' });
  await page.click('#search-select-all'); // clears

  // Restore the previewed hit into a new folder.
  await page.click('#search-restore-hit');
  await page.waitForSelector('#restore-dialog[open][data-step="what"]');
  assertEq(await page.locator('#restore-what .what-item').count(), 1, 'one message');
  assertEq(await text(page, '#restore-what .what-label'), firstSubject, 'shown by its subject');
  assertEq(await page.locator('#restore-recursive').count(), 0, 'no subfolder option for a message');
  assertEq(await page.getAttribute('#restore-steps [aria-current="step"]', 'data-step'), 'what', 'stepper shows the step');
  await axeScan(page, 'restore: what');
  await next(page, 'target');
  assert(await page.isChecked('#target-original'), 'original place by default');
  await page.check('#target-folder');
  const folderName = await page.inputValue('#target-folder-name');
  assert(/^Restored \d{4}-\d\d-\d\d \d\d:\d\d$/.test(folderName), `default folder name: ${folderName}`);
  await page.fill('#target-folder-name', '');
  await page.click('#restore-next');
  await page.waitForSelector('#target-folder-name-error');
  await page.waitForFunction(() => document.activeElement?.id === 'target-folder-name', null, { timeout: 2_000 });
  await page.fill('#target-folder-name', folderName);
  await axeScan(page, 'restore: target');
  await shot(page, '21-restore-target');
  await next(page, 'conflict');
  assert(await page.isChecked('#conflict-skip'), 'skip by default');
  await axeScan(page, 'restore: conflicts');
  await next(page, 'review');
  await page.waitForSelector('#restore-summary .plan-mailbox');
  assertEq(await page.getAttribute('.plan-counts [data-action="create"][data-kind="message"]', 'data-count'), '1', 'one message planned');
  assertEq(await page.getAttribute('.plan-counts [data-action="create-folder"]', 'data-count'), '2', 'the new folder and its subfolder');
  assert((await text(page, '.plan-target')).includes(folderName), 'target named');
  assertEq(await page.locator('.plan-writes tbody tr').count(), 3, 'planned writes listed');
  await axeScan(page, 'restore: review');
  await shot(page, '22-restore-summary');

  await recordProgress(page);
  await runFromReview(page);
  const seen = await page.evaluate(() => window.__restoreProgress);
  assert(seen.length >= 1, `progress shown: ${JSON.stringify(seen)}`);
  assertEq(await text(page, '.report-mailbox .report-restored'), '1', 'restored');
  assertEq(await text(page, '.report-mailbox .report-failed'), '0', 'none failed');
  assert((await text(page, '.report-mailbox .report-target')).includes(folderName), 'target folder reported');
  await page.waitForFunction(() => document.activeElement?.id === 'restore-step-heading', null, { timeout: 2_000 });
  await axeScan(page, 'restore: report');
  await shot(page, '23-restore-report');
  await page.click('#restore-done');
  await page.waitForSelector('#restore-dialog', { state: 'detached' });

  // Show in snapshot: the browser opens at the folder with the message selected.
  const hitId = await page.getAttribute('#search-results [role="option"]:first-child .hit-row', 'data-item-id');
  await page.click('#search-show-in-snapshot');
  await page.waitForSelector('#browser #breadcrumb [aria-current="page"]');
  assertEq(await page.getAttribute('#nav-snapshots', 'aria-current'), 'page', 'snapshots screen');
  await page.waitForFunction((id) => {
    const active = document.querySelector('#item-list')?.getAttribute('aria-activedescendant');
    return active && document.querySelector(`#${active} .item-row`)?.getAttribute('data-item-id') === id;
  }, hitId);
  await page.waitForSelector('#preview-subject');
  // And back: the search results are still there.
  await page.click('#nav-search');
  await page.waitForSelector('#search-results .hit-row');
});

// ---------------------------------------------------------------- snapshot browser selection

test('browser: selected messages restored into another mailbox with keep-both', async ({ page, base }) => {
  await openRepo(page, base);
  await browseNewest(page, INBOX);
  await page.waitForSelector('#item-list .item-row');
  assertEq(await text(page, '#browser-scope'), 'Folder Inbox', 'the folder by default');
  const rows = '#item-list [role="option"]';
  await page.click(`${rows}:nth-child(1) .item-check`);
  await page.click(`${rows}:nth-child(3) .item-row`, { modifiers: ['Control'] });
  await page.click(`${rows}:nth-child(4) .item-row`, { modifiers: ['Shift'] });
  assertEq(await text(page, '#browser-scope'), '3 messages selected', 'click, ctrl-click and shift-click');
  await page.focus('#item-list');
  await page.keyboard.press('Space'); // the active row (4) unchecked
  assertEq(await text(page, '#browser-scope'), '2 messages selected', 'Space toggles');
  await page.keyboard.press('Space');
  const checked = await page.$$eval(`${rows}[aria-selected="true"] .item-row`, (r) => r.map((e) => e.getAttribute('data-item-id')));
  assertEq(checked.length, 3, 'aria-selected follows the checks');
  await axeScan(page, 'browser with selection');
  await shot(page, '24-browser-selection', '#breadcrumb');

  await page.click('#browser-restore');
  await page.waitForSelector('#restore-dialog[open]');
  assertEq(await page.locator('#restore-what .what-item').count(), 3, 'three messages');
  await next(page, 'target');
  await page.check('#target-mailbox');
  await page.click('#restore-next');
  await page.waitForSelector('#target-mailbox-address-error');
  await page.fill('#target-mailbox-address', 'nobody@contoso.example');
  await next(page, 'conflict');
  await page.check('#conflict-keep-both');
  await next(page, 'review');
  await page.waitForSelector('#restore-error');
  assert((await text(page, '#restore-error')).includes('not_found'), 'an unknown mailbox is not found');
  assert(await page.isDisabled('#restore-run'), 'cannot run without a plan');
  await page.click('#restore-back');
  await page.click('#restore-back');
  await page.waitForSelector('#restore-dialog[data-step="target"]');
  await page.fill('#target-mailbox-address', 'carol@contoso.example');
  await next(page, 'conflict');
  assert(await page.isChecked('#conflict-keep-both'), 'choice kept');
  await next(page, 'review');
  await page.waitForSelector('.plan-mailbox[data-mailbox="carol@contoso.example"]');
  assertEq(await page.getAttribute('.plan-counts [data-action="create"]', 'data-count'), '3', 'three to restore');
  await runFromReview(page);
  assertEq(await text(page, '.report-mailbox[data-mailbox="carol@contoso.example"] .report-restored'), '3', 'restored into carol');
  await page.click('#restore-done');
  await page.waitForSelector('#restore-dialog', { state: 'detached' });
  assertEq(await text(page, '#browser-scope'), '3 messages selected', 'the selection stays');
  await page.click('#browser-clear-selection');
  assertEq(await text(page, '#browser-scope'), 'Folder Inbox', 'cleared');
});

test('restore: a folder to its original place twice; the second run skips what is there, with the reason', async ({ page, base }) => {
  await openRepo(page, base);
  await browseNewest(page, PROJECTS);
  assertEq(await text(page, '#browser-scope'), 'Folder Projects', 'the current folder');
  for (const round of [1, 2]) {
    await page.click('#browser-restore');
    await page.waitForSelector('#restore-dialog[open]');
    assertEq(await page.getAttribute('#restore-what .what-item', 'data-path'), PROJECTS, 'the folder');
    assert(await page.isChecked('#restore-recursive'), 'subfolders included');
    await next(page, 'target');
    await next(page, 'conflict');
    await next(page, 'review');
    await page.waitForSelector('#restore-summary .plan-mailbox');
    if (round === 2) {
      assertEq(await page.getAttribute('.plan-skipped', 'data-count'), '3', 'the dry run says they will be skipped');
      await axeScan(page, 'restore: review with skips');
    }
    await runFromReview(page);
    if (round === 1) {
      assertEq(await text(page, '.report-restored'), '3', 'first run restores');
      assertEq(await text(page, '.report-target'), 'the original folders', 'original place');
    } else {
      assertEq(await text(page, '.report-restored'), '0', 'second run restores nothing');
      assertEq(await text(page, '.report-skipped'), '3', 'and skips everything');
      await page.click('.report-mailbox .reasons summary');
      const reasons = await page.$$eval('.report-mailbox .reasons .reason', (r) => r.map((e) => e.textContent));
      assert(reasons.length === 3 && reasons.every((r) => r === 'already in the mailbox'), `reasons: ${reasons}`);
      await axeScan(page, 'restore: report with skips');
    }
    await page.click('#restore-done');
    await page.waitForSelector('#restore-dialog', { state: 'detached' });
  }
});

test('export: a folder as .mbox into a picked folder', async ({ page, base }) => {
  await openRepo(page, base);
  await browseNewest(page, INBOX);
  await page.click('#browser-export');
  await page.waitForSelector('#restore-dialog[open]');
  assertEq(await text(page, '#restore-title'), 'Export to disk', 'export title');
  assertEq(await page.locator('#restore-steps li').count(), 4, 'no conflict step');
  await next(page, 'target');
  assert(await page.isChecked('#target-export'), 'export chosen');
  await page.check('#export-format-mbox');
  await page.click('#restore-next');
  await page.waitForSelector('#export-folder-error');
  await page.click('#export-pick');
  await page.waitForFunction(() => document.querySelector('#export-folder')?.value === '/home/demo/Exports');
  await axeScan(page, 'export: target');
  await shot(page, '25-export-target');
  await next(page, 'review');
  await page.waitForSelector('#restore-summary .export-plan');
  assertEq(await text(page, '.plan-export-files'), '2', 'Inbox.mbox and Projects.mbox');
  await runFromReview(page);
  assertEq(await text(page, '#export-report .report-files'), '2', 'two files');
  assertEq(await text(page, '#export-report .report-target'), '/home/demo/Exports', 'written where picked');
  assert(/\d/.test(await text(page, '#export-report .report-bytes')), 'bytes reported');
  await axeScan(page, 'export: report');
  await page.click('#restore-done');
  // The same folder again: not empty, refused with a clear error, unless allowed.
  await page.click('#browser-export');
  await next(page, 'target');
  await page.click('#export-pick');
  await page.waitForFunction(() => document.querySelector('#export-folder')?.value === '/home/demo/Exports');
  await next(page, 'review');
  await page.waitForSelector('#restore-error');
  assert((await text(page, '#restore-error')).includes('not empty'), 'a non-empty folder is refused');
  await page.click('#restore-back');
  await page.check('#export-allow-non-empty');
  await next(page, 'review');
  await runFromReview(page);
  assertEq(await page.locator('#restore-error').count(), 0, 'allowed');
});

test('restore: a whole snapshot from the list, cancelled while running', async ({ page, base }) => {
  await openRepo(page, base, '&mockDelay=60');
  await page.click('#nav-snapshots');
  await page.waitForSelector('#snapshot-list .snapshot-row');
  await shot(page, '26-snapshot-list-restore');
  const id = await page.getAttribute('#snapshot-list .snapshot-row:first-child', 'data-snapshot-id');
  await page.click(`#snapshot-restore-${id.slice(0, 8)}`);
  await page.waitForSelector('#restore-dialog[open]');
  assertEq(await page.locator('#browser').count(), 0, 'the row button does not open the snapshot');
  const mailboxes = await page.$$eval('#restore-what .what-item', (r) => r.map((e) => e.getAttribute('data-path')));
  assertEq(mailboxes, [`/${ALICE}`, '/bob@contoso.example'], 'every mailbox of the snapshot');
  await next(page, 'target');
  await next(page, 'conflict');
  await next(page, 'review');
  await page.waitForSelector('#restore-summary[aria-busy="false"]', { timeout: 30_000 });
  await page.click('#restore-run');
  await page.waitForFunction(() => Number(document.querySelector('#restore-progress')?.getAttribute('value') ?? 0) >= 2);
  assert((await text(page, '#restore-status')).includes('items'), 'progress announced');
  await axeScan(page, 'restore: running');
  await page.keyboard.press('Escape');
  await page.keyboard.press('Escape');
  assertEq(await step(page), 'result', 'Escape (even twice) does not close a running restore');
  await page.waitForSelector('#restore-dialog[open]', { state: 'visible' }); // still (or again) open
  await page.click('#restore-cancel');
  await page.waitForSelector('#restore-cancelled', { timeout: 30_000 });
  assert((await text(page, '#restore-cancelled')).includes('written before'), 'says what stays');
  assertEq(await page.locator('#restore-error').count(), 0, 'a cancel is not an error');
  await axeScan(page, 'restore: cancelled');
  await page.keyboard.press('Escape');
  await page.waitForSelector('#restore-dialog', { state: 'detached' });
});

test('search and the restore wizard in the dark theme and the smallest window (axe)', async ({ page, base }) => {
  await page.emulateMedia({ colorScheme: 'dark' });
  await page.setViewportSize({ width: 800, height: 560 });
  await openRepo(page, base);
  await page.waitForFunction(() => document.documentElement.dataset.theme === 'dark');
  await page.click('#nav-search');
  await page.fill('#search-query', 'budget');
  await page.click('#search-submit');
  await page.waitForSelector('#search-results .snippet mark');
  await page.click('#search-results [role="option"]:first-child .hit-row');
  await page.keyboard.press('Space');
  await page.waitForSelector('#preview-subject');
  await noSideways(page, 'search at 800×560');
  await axeScan(page, 'search (dark)');
  await shot(page, '27-search-dark');
  await page.click('#search-restore-selected');
  await next(page, 'target');
  await page.check('#target-mailbox');
  await page.fill('#target-mailbox-address', 'archive@contoso.example');
  await page.check('#target-mailbox-into-folder');
  await noSideways(page, 'wizard at 800×560');
  await axeScan(page, 'restore: target (dark)');
  await next(page, 'conflict');
  await next(page, 'review');
  await page.waitForSelector('.plan-mailbox[data-mailbox="archive@contoso.example"]');
  await axeScan(page, 'restore: review (dark)');
  await runFromReview(page);
  assertEq(await text(page, '.report-restored'), '1', 'restored into archive');
  await axeScan(page, 'restore: report (dark)');
});
