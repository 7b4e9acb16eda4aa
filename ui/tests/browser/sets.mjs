// Browser tests of the dashboard, the backup-set wizard and the job history (registered with
// the harness; run by run.mjs).
import { assert, assertEq, axeScan, openDemoRepo, shot, test, text } from './harness.mjs';

const DEMO_PATH = '/home/demo/QCBackup/repository';
// The mock's demo tenant (src/lib/backend/mock/sets.ts).
const DEMO_TENANT_ID = '5f1c2a7e-8d4b-4c3a-9e6f-0b7d1a2c3e4f';
const DEMO_CLIENT_ID = '0d3c7b1e-2a4f-4b8e-9c6d-5e1f3a7b9c20';

const card = (name) => `[data-testid="set-card"][data-set-name="${name}"]`;

/** Opens the demo repository; the app lands on the dashboard. */
async function openDemo(page, base, query = {}) {
  const params = new URLSearchParams({ mockDelay: '0', mockLarge: '0', mockSignin: '0', ...query });
  await page.goto(`${base}/?${params}`);
  await page.waitForSelector('#repo-form');
  await openDemoRepo(page);
  await page.waitForSelector('#dashboard');
  assertEq(await page.getAttribute('#nav-dashboard', 'aria-current'), 'page', 'the dashboard is the start screen');
}

async function next(page, step) {
  await page.waitForSelector('#wizard-next:not([disabled])');
  await page.click('#wizard-next');
  await page.waitForSelector(`#wizard-step-${step}`);
  assertEq(await page.evaluate(() => document.activeElement?.id), 'wizard-step-heading', `focus moves to the ${step} heading`);
  assertEq(await page.getAttribute('#wizard-stepper [aria-current="step"]', 'data-step'), step, `stepper shows ${step}`);
}

/** Records every value/max of the progress bar inside `selector` (the bar is replaced at times). */
async function watchProgress(page, selector) {
  await page.evaluate((sel) => {
    window.__progress = [];
    const seen = () => {
      const p = document.querySelector(sel);
      if (!p) return;
      const v = [Number(p.getAttribute('value') ?? 0), Number(p.getAttribute('max') ?? 0)];
      const last = window.__progress[window.__progress.length - 1];
      if (!last || last[0] !== v[0] || last[1] !== v[1]) window.__progress.push(v);
    };
    new MutationObserver(seen).observe(document.body, { subtree: true, childList: true, attributes: true });
  }, selector);
}

test('sets: the wizard on the demo tenant, from an empty dashboard to "Save and back up now" and its report', async ({ page, base, ctx }) => {
  await ctx.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: base });
  await openDemo(page, base, { mockDelay: '25', mockSignin: '1500', mockMissing: '1' });
  await page.waitForSelector('#sets-empty');
  assert((await text(page, '#sets-empty')).includes('No backup sets yet'), 'empty state');
  await axeScan(page, 'empty dashboard');
  await page.click('#sets-create-empty');

  // 1. Name: Next says why it is disabled.
  await page.waitForSelector('#wizard-step-name');
  assert(await page.isDisabled('#wizard-next'), 'Next disabled without a name');
  assertEq(await text(page, '#wizard-next-reason'), 'Enter a name.', 'reason shown');
  assertEq(await page.getAttribute('#wizard-next', 'aria-describedby'), 'wizard-next-reason', 'reason tied to the button');
  await page.fill('#wizard-name', 'Contoso mail');
  await axeScan(page, 'wizard: name');
  await next(page, 'signin');

  // 2. Sign-in: device code first, shown large with a copy button, then the demo app in one click.
  assert(await page.isDisabled('#wizard-next'), 'Next disabled until signed in');
  assertEq(await page.inputValue('#signin-tenant'), DEMO_TENANT_ID, 'the demo tenant is filled in');
  assertEq(await page.inputValue('#signin-client'), DEMO_CLIENT_ID, 'and its app');
  await page.check('#signin-device');
  await page.click('#signin-submit');
  await page.waitForSelector('#device-user-code');
  assertEq(await text(page, '#device-user-code'), 'QCB7-K4MD', 'user code shown');
  const size = await page.evaluate(() => parseFloat(getComputedStyle(document.querySelector('#device-user-code')).fontSize));
  assert(size >= 32, `the code is large (${size}px)`);
  assert((await text(page, '#device-url')).endsWith('/devicelogin'), 'verification URL shown');
  await page.click('#device-copy');
  await page.waitForSelector('#copy-note:has-text("Copied")');
  assertEq(await page.evaluate(() => navigator.clipboard.readText()), 'QCB7-K4MD', 'the code is on the clipboard');
  assert(await page.isVisible('#signin-cancel'), 'the sign-in can be cancelled');
  await axeScan(page, 'wizard: device code');
  await shot(page, '11-wizard-signin', '.choices');
  await page.waitForSelector('#signin-status', { timeout: 10_000 });
  assert((await text(page, '#signin-status')).includes('admin@contoso.example'), 'signed in as the person');
  assertEq(await page.locator('#device-user-code').count(), 0, 'the code goes once signed in');

  await page.click('#wizard-use-demo');
  await page.waitForSelector('#signin-status:has-text("Contoso (demo tenant)")');
  assert(await page.isChecked('#signin-app'), 'the demo uses app credentials');
  assertEq(await page.inputValue('#signin-tenant'), DEMO_TENANT_ID, 'demo tenant filled in');
  assertEq(await page.inputValue('#signin-secret'), '', 'no secret kept in the form');
  const stored = await page.evaluate(() => JSON.stringify({ ...localStorage }) + JSON.stringify({ ...sessionStorage }));
  assertEq(stored, '{}{}', 'nothing in the webview storage');
  await next(page, 'permissions');

  // 3. Permission check: one missing permission, highlighted, with its exact fix; Retry clears it.
  await page.waitForSelector('#permissions-table');
  const problems = Number(await page.getAttribute('#permissions-summary', 'data-problems'));
  assert(problems >= 1, `problems reported (${problems})`);
  const bad = page.locator('[data-testid="permission-row"][data-problem="true"]');
  assertEq(await bad.count(), problems, 'one highlighted row per problem');
  assertEq(await bad.first().getAttribute('data-category'), 'tasks', 'tasks lack a permission');
  assert((await bad.first().innerText()).includes('Tasks.Read.All'), 'the permission is named');
  const fix = page.locator('[data-testid="permission-fix"][data-category="tasks"]').first();
  assert(
    (await fix.innerText()).includes(
      'In Microsoft Entra admin center > App registrations > QCBackup > API permissions, add Microsoft Graph application permission Tasks.Read.All and grant admin consent.',
    ),
    'the fix is spelled out',
  );
  const bg = await bad.first().locator('td').first().evaluate((td) => getComputedStyle(td).backgroundColor);
  assertEq(bg, 'rgb(253, 238, 238)', 'problem rows are highlighted');
  await axeScan(page, 'wizard: permissions');
  await page.emulateMedia({ colorScheme: 'dark' });
  await page.waitForFunction(() => document.documentElement.dataset.theme === 'dark');
  await axeScan(page, 'wizard: permissions (dark)');
  await page.emulateMedia({ colorScheme: 'light' });
  await page.waitForFunction(() => document.documentElement.dataset.theme === 'light');
  await shot(page, '12-wizard-permissions', '#permissions-summary');
  await page.click('#permissions-retry');
  await page.waitForSelector('#permissions-summary[data-problems="0"]');
  assertEq(await bad.count(), 0, 'no problem after the admin granted it');
  await next(page, 'mailboxes');

  // 4. Mailboxes: searchable list with select all; categories; a lazily loaded folder tree.
  await page.waitForSelector('[data-testid="mailbox-option"]');
  const addresses = await page.$$eval('[data-testid="mailbox-option"]', (l) => l.map((e) => e.getAttribute('data-address')));
  assertEq(addresses, ['alice@contoso.example', 'bob@contoso.example', 'support@contoso.example'], 'users and the shared mailbox');
  assert(await page.isDisabled('#wizard-next'), 'no mailbox chosen yet');
  await page.check('#mailboxes-all-users');
  assert(await page.isDisabled('[data-address="alice@contoso.example"] input'), 'users are covered by the toggle');
  assert(!(await page.isDisabled('[data-address="support@contoso.example"] input')), 'the shared mailbox is not');
  await page.uncheck('#mailboxes-all-users');
  assert(await page.isDisabled('#wizard-next'), 'no mailbox chosen');
  assert((await text(page, '#wizard-next-reason')).includes('at least one mailbox'), 'why');
  await page.fill('#mailbox-search', 'BOB');
  await page.waitForFunction(() => document.querySelectorAll('[data-testid="mailbox-option"]').length === 1);
  await page.fill('#mailbox-search', 'contoso');
  await page.waitForFunction(() => document.querySelectorAll('[data-testid="mailbox-option"]').length === 3);
  await page.check('#mailbox-select-all');
  assertEq(await text(page, '#mailbox-selected-count'), '3 mailboxes selected', 'select all');
  await page.fill('#mailbox-search', 'zzz');
  await page.waitForSelector('.no-match');
  await page.fill('#mailbox-search', '');
  await page.uncheck('#category-settings');
  await page.click('#folder-filter summary');
  await page.waitForSelector('[data-testid="folder-node"][data-path="Inbox"]');
  assertEq(await page.locator('[data-testid="folder-node"][data-path="Inbox/Projects"]').count(), 0, 'subfolders not loaded yet');
  const inboxToggle = page.locator('[data-testid="folder-node"][data-path="Inbox"] > .row [data-testid="folder-toggle"]');
  assertEq(await inboxToggle.getAttribute('aria-expanded'), 'false', 'collapsed');
  await inboxToggle.click();
  await page.waitForSelector('[data-testid="folder-node"][data-path="Inbox/Projects"]');
  assertEq(await inboxToggle.getAttribute('aria-expanded'), 'true', 'expanded');
  await page.selectOption('[data-testid="folder-node"][data-path="Inbox/Projects"] [data-testid="folder-mark"]', 'exclude');
  await page.waitForSelector('[data-testid="folder-pattern"][data-kind="exclude"]');
  assert((await text(page, '#folder-patterns')).includes('Inbox/Projects'), 'pattern made from the tree');
  await axeScan(page, 'wizard: mailboxes');
  await shot(page, '13-wizard-mailboxes', '#mailbox-list');
  await next(page, 'destination');

  // 5. Destination: the open repository, and the keychain note.
  assertEq(await page.inputValue('#wizard-repository'), DEMO_PATH, 'the open repository');
  assert((await text(page, '#wizard-keychain-note')).includes('keychain'), 'keychain note');
  await next(page, 'schedule');

  // 6. Schedule: presets, custom text checked like the engine, where it runs.
  assert(await page.isChecked('#schedule-daily'), 'daily by default');
  await page.check('#schedule-weekly');
  await page.fill('#schedule-time', '03:15');
  await page.uncheck('#schedule-day-tue');
  await page.uncheck('#schedule-day-wed');
  await page.uncheck('#schedule-day-fri');
  assertEq(await text(page, '#schedule-preview'), 'Schedule: Every Monday, Thursday at 03:15', 'weekly preview');
  await page.check('#schedule-custom');
  await page.fill('#schedule-text', 'every 6x');
  await page.waitForSelector('#wizard-next[disabled]');
  assert((await text(page, '#wizard-next-reason')).includes('is not an interval such as 6h'), 'the engine\'s message');
  await page.fill('#schedule-text', 'every 6h');
  assertEq(await text(page, '#schedule-preview'), 'Schedule: Every 6 hours', 'custom preview');
  assert((await text(page, '#run-on-server-hint')).includes('daemon'), 'server explained');
  assert(await page.isChecked('#run-on-client'), 'runs on this app by default');
  await axeScan(page, 'wizard: schedule');
  await shot(page, '14-wizard-schedule', '#wizard-step-heading');
  await next(page, 'retention');

  // 7. Retention: presets fill the advanced fields; no rule is refused.
  assert(await page.isChecked('#retention-standard'), 'standard by default');
  await page.check('#retention-long');
  await page.click('#retention-advanced summary');
  assertEq(await page.inputValue('#retention-keepYearly'), '5', 'long term keeps 5 yearly');
  await page.check('#retention-all');
  assert(await page.isDisabled('#retention-keepDaily'), 'no fields when keeping everything');
  await page.check('#retention-custom');
  for (const f of ['keepDaily', 'keepWeekly', 'keepMonthly', 'keepYearly']) await page.fill(`#retention-${f}`, '');
  await page.waitForSelector('#wizard-next[disabled]');
  assert((await text(page, '#wizard-next-reason')).includes('at least one keep rule'), 'a policy needs a rule');
  await page.check('#retention-standard');
  await page.fill('#retention-deletedItemRetention', '90x');
  assertEq(await page.getAttribute('#retention-deletedItemRetention', 'aria-invalid'), 'true', 'bad span flagged');
  await page.fill('#retention-deletedItemRetention', '90d');
  assert(await page.isChecked('#retention-custom'), 'an edited preset is custom');
  await axeScan(page, 'wizard: retention');
  await next(page, 'summary');

  // 8. Summary, then save and back up now.
  const summary = async (key) => page.locator(`#wizard-summary [data-summary="${key}"]`).innerText();
  assert((await summary('name')).includes('Contoso mail'), 'name');
  assert((await summary('signin')).includes('App credentials'), 'sign-in');
  assert((await summary('mailboxes')).includes('alice@contoso.example, bob@contoso.example, support@contoso.example'), 'mailboxes');
  assert(!(await summary('categories')).includes('Mailbox settings'), 'categories');
  assert((await summary('folders')).includes('except Inbox/Projects'), 'folders');
  assert((await summary('schedule')).includes('Every 6 hours'), 'schedule');
  assert((await summary('run-on')).includes('Run on Client'), 'run on');
  assert((await summary('retention')).includes('7 daily, 4 weekly, 12 monthly, deleted items for 90d'), 'retention');
  await axeScan(page, 'wizard: summary');
  await watchProgress(page, `${card('Contoso mail')} [data-testid="set-progress-bar"]`);
  await page.click('#wizard-save-run');
  await page.waitForSelector(`${card('Contoso mail')} [data-testid="set-progress"]`);
  await page.waitForFunction(() => (window.__progress ?? []).length >= 3);
  assert((await page.locator(`${card('Contoso mail')} [data-testid="set-progress-mailboxes"] tr[data-mailbox]`).count()) >= 1, 'per-mailbox rows');
  assert(/\d+ \/ \d+/.test(await text(page, `${card('Contoso mail')} [data-testid="set-progress-items"]`)), 'counts shown');
  await axeScan(page, 'set running');
  await page.waitForSelector(`${card('Contoso mail')} [data-testid="set-report"]`, { timeout: 30_000 });
  const seen = await page.evaluate(() => window.__progress);
  assert(seen.every((v, i) => i === 0 || v[0] >= seen[i - 1][0]), `never goes back: ${JSON.stringify(seen)}`);
  const [value, max] = seen[seen.length - 1];
  assert(max > 0 && value === max, `reached 100%: ${JSON.stringify(seen)}`);
  const report = await text(page, `${card('Contoso mail')} [data-testid="set-report"]`);
  assert(report.includes('backup complete with errors'), 'report title');
  assert(report.includes('AAMk-bob-inbox-3') && report.includes('429 Too Many Requests'), 'failed item and why');
  await page.waitForSelector(`${card('Contoso mail')} [data-testid="set-sparkline"][data-points="1"]`);
  assert((await text(page, `${card('Contoso mail')} [data-testid="set-last-run"]`)).includes('Warning'), 'last run status');
  assert((await text(page, `${card('Contoso mail')} [data-testid="set-mailboxes"]`)).includes('3 mailboxes'), 'mailboxes label');
  await axeScan(page, 'set report');

  // The report's snapshot opens in the snapshot browser.
  await page.click(`${card('Contoso mail')} [data-testid="set-report"] [data-testid="report-browse"]`);
  await page.waitForSelector('#browser .folder-row[data-path="/alice@contoso.example"]');
  const mailboxes = await page.$$eval('#browser .folder-row', (r) => r.map((e) => e.getAttribute('data-path')));
  assertEq(mailboxes, ['/alice@contoso.example', '/bob@contoso.example', '/support@contoso.example'], 'the set\'s mailboxes');

  // The history has the run.
  await page.click('#nav-history');
  await page.waitForSelector('[data-testid="history-row"]');
  assertEq(await page.locator('[data-testid="history-row"]').count(), 1, 'one run');
  assertEq(await page.getAttribute('[data-testid="history-row"]', 'data-status'), 'warning', 'warning: one item failed');
});

test('sets: dashboard with sparklines and warnings; Stop during a run; edit and remove', async ({ page, base }) => {
  await openDemo(page, base, { mockSets: '1', mockDelay: '60' });
  await page.waitForSelector('#set-list');
  assertEq(await page.locator('[data-testid="set-card"]').count(), 2, 'two sets');
  const nightly = card('Nightly – all users');
  const support = card('Support mailbox');
  assertEq(await page.getAttribute(`${nightly} [data-testid="set-sparkline"]`, 'data-points'), '8', 'eight runs drawn');
  assert((await page.getAttribute(`${nightly} [data-testid="set-sparkline"]`, 'aria-label')).includes('from 19 to 26'), 'sparkline described');
  assert((await text(page, `${nightly} [data-testid="set-next-run"]`)).length > 3, 'next run shown');
  assert((await text(page, nightly)).includes('Daily at 02:30'), 'schedule readable');
  assert((await text(page, `${support} [data-testid="set-warnings"]`)).includes('client secret keys for app QCBackup are expired'), 'warning needs the user');
  assert((await text(page, `${support} [data-testid="set-last-run"]`)).includes('Failed'), 'failed last run');
  await axeScan(page, 'dashboard');
  await shot(page, '10-dashboard');
  await page.emulateMedia({ colorScheme: 'dark' });
  await page.waitForFunction(() => document.documentElement.dataset.theme === 'dark');
  await axeScan(page, 'dashboard (dark)');
  await page.emulateMedia({ colorScheme: 'light' });
  await page.waitForFunction(() => document.documentElement.dataset.theme === 'light');

  // Run, visit another screen, come back, stop.
  await page.click(`${nightly} [data-testid="set-run"]`);
  await page.waitForSelector(`${nightly} [data-testid="set-progress"]`);
  assert(await page.isDisabled(`${nightly} [data-testid="set-remove"]`), 'a running set cannot be removed');
  await page.click('#nav-settings');
  await page.waitForSelector('#settings-form');
  assert((await text(page, '#job-status')).includes('Backing up 1 set'), 'sidebar shows the running set');
  await page.click('#nav-dashboard');
  await page.waitForSelector(`${nightly} [data-testid="set-progress"]`);
  await page.waitForFunction(
    (sel) => Number(document.querySelector(sel)?.getAttribute('value') ?? 0) > 0,
    `${nightly} [data-testid="set-progress-bar"]`,
  );
  assertEq(await page.getAttribute(`${nightly} [data-testid="set-progress-status"]`, 'aria-live'), 'polite', 'progress announced');
  await page.click(`${nightly} [data-testid="set-stop"]`);
  await page.waitForSelector(`${nightly} [data-testid="set-outcome"][data-outcome="stopped"]`);
  assertEq(await page.locator('#job-status').count(), 0, 'nothing runs any more');
  assert((await text(page, `${nightly} [data-testid="set-last-run"]`)).includes('Interrupted'), 'last run interrupted');
  await page.click('#nav-history');
  await page.waitForSelector('[data-testid="history-row"]');
  assertEq(await page.getAttribute('[data-testid="history-row"]:first-child', 'data-status'), 'interrupted', 'history: interrupted');
  await page.click('#nav-dashboard');

  // Edit: the same wizard, prefilled, name read-only.
  await page.click(`${support} [data-testid="set-edit"]`);
  await page.waitForSelector('#wizard-step-name');
  assertEq(await page.inputValue('#wizard-name'), 'Support mailbox', 'prefilled');
  assertEq(await page.getAttribute('#wizard-name', 'readonly'), '', 'name read-only when editing');
  await page.click('#wizard-stepper [data-step="schedule"] button');
  await page.waitForSelector('#wizard-step-schedule');
  assert(await page.isChecked('#schedule-custom'), 'every 6h is custom text');
  assertEq(await page.inputValue('#schedule-text'), 'every 6h', 'schedule prefilled');
  await page.check('#schedule-daily');
  await page.fill('#schedule-time', '01:45');
  await page.click('#wizard-stepper [data-step="summary"] button');
  await page.waitForSelector('#wizard-step-summary');
  assert((await text(page, '#wizard-summary [data-summary="mailboxes"]')).includes('All shared mailboxes'), 'mailboxes kept');
  await page.click('#wizard-save');
  await page.waitForSelector('#dashboard');
  await page.waitForFunction((sel) => document.querySelector(sel)?.textContent?.includes('Daily at 01:45'), support);

  // Remove, with a confirmation that takes the focus and gives it back.
  await page.click(`${support} [data-testid="set-remove"]`);
  await page.waitForSelector(`${support} [data-testid="set-remove-dialog"]`);
  assertEq(await page.evaluate(() => document.activeElement?.getAttribute('data-testid')), 'set-remove-confirm', 'focus on confirm');
  await axeScan(page, 'remove confirmation');
  await page.click(`${support} [data-testid="set-remove-cancel"]`);
  assertEq(await page.evaluate(() => document.activeElement?.getAttribute('data-testid')), 'set-remove', 'focus back');
  await page.click(`${support} [data-testid="set-remove"]`);
  await page.click(`${support} [data-testid="set-remove-confirm"]`);
  await page.waitForFunction((sel) => !document.querySelector(sel), support);
  assertEq(await page.locator('[data-testid="set-card"]').count(), 1, 'one set left');
});

test('sets: the history lists runs newest first, filters by set and shows a run with its failed items', async ({ page, base }) => {
  await openDemo(page, base, { mockSets: '1' });
  await page.click('#nav-history');
  await page.waitForSelector('#history-table');
  assertEq(await page.locator('[data-testid="history-row"]').count(), 9, 'every run');
  const statuses = await page.$$eval('[data-testid="history-row"]', (r) => r.map((e) => e.getAttribute('data-status')));
  assertEq(statuses[0], 'failed', 'newest first (the support set failed 5 hours ago)');
  assert(statuses.includes('warning') && statuses.includes('succeeded'), `badges: ${statuses}`);
  await axeScan(page, 'history');
  await shot(page, '15-history');

  await page.selectOption('#history-filter', 'Support mailbox');
  await page.waitForFunction(() => document.querySelectorAll('[data-testid="history-row"]').length === 1);
  await page.click('[data-testid="history-open"]');
  await page.waitForSelector('#history-detail');
  assert((await text(page, '#history-message')).includes('AADSTS7000222'), 'the message says why');
  await page.click('#history-back');
  await page.selectOption('#history-filter', '');
  await page.waitForFunction(() => document.querySelectorAll('[data-testid="history-row"]').length === 9);

  await page.click('[data-testid="history-row"][data-status="warning"] [data-testid="history-open"]');
  await page.waitForSelector('#history-failed');
  assertEq(await page.evaluate(() => document.activeElement?.id), 'history-detail-heading', 'focus on the detail');
  assertEq(await text(page, '#history-detail [data-stat="failed"]'), '1', 'failed count');
  assert((await text(page, '#history-failed')).includes('AAMk-bob-inbox-3'), 'failed item');
  assert((await text(page, '#history-failed')).includes('429 Too Many Requests'), 'and why');
  assert((await text(page, '#history-detail [data-stat="duration"]')).includes('1 min 34 s'), 'duration');
  // The run's own log, as the engine wrote it.
  const log = await text(page, '#history-log');
  assert(log.includes('backup finished') && log.includes('failed=1'), `run log: ${log}`);
  await axeScan(page, 'history detail');
  await page.emulateMedia({ colorScheme: 'dark' });
  await page.waitForFunction(() => document.documentElement.dataset.theme === 'dark');
  await axeScan(page, 'history detail (dark)');
  await page.click('#history-back');
  await page.waitForSelector('#history-table');
  assertEq(await page.evaluate(() => document.activeElement?.getAttribute('data-testid')), 'history-open', 'focus back on the row');
});

test('sets: the smallest window (800×560) keeps the dashboard and the wizard without sideways scrolling', async ({ page, base }) => {
  await page.setViewportSize({ width: 800, height: 560 });
  await openDemo(page, base, { mockSets: '1' });
  await page.waitForSelector('#set-list');
  const overflow = () => page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
  assert((await overflow()) <= 0, `dashboard: no horizontal scrolling (${await overflow()} px)`);
  await page.click('#sets-create');
  await page.fill('#wizard-name', 'Small');
  await next(page, 'signin');
  assert((await overflow()) <= 0, `sign-in: no horizontal scrolling (${await overflow()} px)`);
  await page.click('#wizard-use-demo');
  await page.waitForSelector('#signin-status');
  await next(page, 'permissions');
  await page.waitForSelector('#permissions-table');
  assert((await overflow()) <= 0, `permissions: no horizontal scrolling (${await overflow()} px)`);
  await next(page, 'mailboxes');
  await page.waitForSelector('[data-testid="mailbox-option"]');
  await page.click('#folder-filter summary');
  await page.waitForSelector('[data-testid="folder-node"]');
  assert((await overflow()) <= 0, `mailboxes: no horizontal scrolling (${await overflow()} px)`);
  await axeScan(page, 'wizard at 800×560');
  // The desktop end-to-end test's path: one mailbox found by search, then the defaults.
  await page.fill('#mailbox-search', 'alice');
  await page.click("li[data-address='alice@contoso.example'] [data-testid=mailbox-check]");
  for (const step of ['destination', 'schedule', 'retention', 'summary']) await next(page, step);
  assertEq(await text(page, '#wizard-summary [data-summary="mailboxes"] dd:not(.sum-edit)'), 'alice@contoso.example', 'alice only');
});
