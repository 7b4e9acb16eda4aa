// Browser test of an item's versions: the preview's "Versions" panel and "Compare" (registered
// with the harness; run by run.mjs).
import { assert, assertEq, axeScan, browseFolders, openDemoRepo, shot, test, text } from './harness.mjs';

const ALICE = 'alice@contoso.example';
const INBOX = `/${ALICE}/Inbox`;
/** The demo message that changes between the demo snapshots (mock/versions.ts). */
const CHANGED = 'AAMk-alice-inbox-4';

test('versions: a changed message lists its versions, compares two side by side and opens an older copy', async ({ page, base }) => {
  await page.goto(`${base}/?mockDelay=0&mockLarge=0`);
  await page.waitForSelector('#repo-form');
  await openDemoRepo(page);
  await page.waitForSelector('#dashboard');
  await page.click('#nav-snapshots');
  await page.waitForSelector('#snapshot-list .snapshot-row');
  await page.click('#snapshot-list .snapshot-row:first-child button');
  await browseFolders(page, INBOX);
  await page.click(`#item-list .item-row[data-item-id="${CHANGED}"]`);
  await page.waitForSelector('#preview-versions');
  const subject = await text(page, '#preview-subject');

  // Keyboard: the button opens the panel, whose heading takes the focus.
  await page.focus('#preview-versions');
  await page.keyboard.press('Enter');
  await page.waitForSelector('#versions-panel .version-row');
  assertEq(await page.getAttribute('#preview-versions', 'aria-expanded'), 'true', 'button says the panel is open');
  assertEq(await page.evaluate(() => document.activeElement?.id), 'versions-heading', 'focus moves into the panel');
  assertEq(await page.locator('#versions-panel .version-row').count(), 3, 'one version per snapshot');
  const folders = await page.$$eval('#versions-panel .version-row td:nth-child(3)', (c) => c.map((e) => e.textContent.trim()));
  assertEq(folders, ['Inbox', 'Inbox', 'Inbox'], 'the folder of each copy');
  assertEq(await page.locator('#versions-panel .version-row .badge.changed').count(), 2, 'both later versions changed');
  assert(await page.locator('#versions-panel .version-row.shown').count() === 1, 'the shown copy is marked');
  await axeScan(page, 'versions panel');

  // Choose the oldest and the newest (uncheck the middle one first), then compare.
  const checks = '#versions-panel .version-check';
  assert(await page.locator(checks).nth(0).isDisabled(), 'no third version while two are chosen');
  await page.locator(checks).nth(1).uncheck();
  await page.locator(checks).nth(0).check();
  await page.click('#versions-compare');
  await page.waitForSelector('#versions-diff');
  const changed = await page.$$eval('#versions-diff tr[data-changed="true"]', (r) => r.map((e) => e.getAttribute('data-field')));
  assertEq(changed, ['subject', 'size'], 'the fields that differ');
  assert((await text(page, '#versions-diff tr[data-field="subject"]')).includes(subject), 'the newer subject shown');
  assert((await text(page, '#versions-body-diff')).includes('security team'), 'the added body line');
  assert((await page.locator('#versions-body-diff li.added').count()) > 0, 'added lines marked');
  assertEq(await page.locator('#versions-panel iframe').count(), 0, 'no mail HTML outside the preview frame');
  assert((await text(page, '#versions-diff-summary')).includes('differ'), 'a summary of the differences');
  await axeScan(page, 'versions compared');
  await shot(page, '06-compare-versions', '#versions-diff');

  // Opening the oldest version shows that copy in the preview; back returns to this snapshot's.
  await page.locator('#versions-panel .version-open').first().click();
  await page.waitForSelector('#preview-version-note');
  assert((await text(page, '#preview-subject')) !== subject, 'the older subject is shown');
  await page.click('#preview-version-back');
  await page.waitForFunction((s) => document.querySelector('#preview-subject')?.textContent === s, subject);

  await page.keyboard.press('Tab'); // still inside the panel
  await page.click('#versions-close');
  await page.waitForSelector('#versions-panel', { state: 'detached' });
  assertEq(await page.evaluate(() => document.activeElement?.id), 'preview-versions', 'focus back on the button');
});
