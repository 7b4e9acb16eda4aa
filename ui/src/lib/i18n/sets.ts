// Strings of the dashboard, the backup-set wizard and the job history (t.sets).
import type { CategoryName, RetentionPolicy, RunOn, RunStatus } from '../backend/types';

const plural = (n: number, one: string, many: string) => (n === 1 ? `1 ${one}` : `${n.toLocaleString()} ${many}`);
const DAY_NAMES: Record<string, string> = {
  mon: 'Monday',
  tue: 'Tuesday',
  wed: 'Wednesday',
  thu: 'Thursday',
  fri: 'Friday',
  sat: 'Saturday',
  sun: 'Sunday',
};

export const setsStrings = {
  nav: { dashboard: 'Dashboard', history: 'History' },

  categories: {
    mail: 'Mail',
    contacts: 'Contacts',
    calendars: 'Calendars',
    tasks: 'Tasks (To Do)',
    settings: 'Mailbox settings and rules',
  } as Record<CategoryName, string>,
  /** Category names of the permission check (which also has `rules` and `directory`). */
  categoryLabel: (c: string) =>
    ((
      {
        mail: 'Mail',
        contacts: 'Contacts',
        calendars: 'Calendars',
        tasks: 'Tasks',
        settings: 'Settings',
        rules: 'Inbox rules',
        directory: 'Directory',
      } as Record<string, string>
    )[c] ?? c),
  runOn: { client: 'Run on Client', server: 'Run on Server' } as Record<RunOn, string>,
  status: {
    running: 'Running',
    succeeded: 'Succeeded',
    warning: 'Warning',
    failed: 'Failed',
    interrupted: 'Interrupted',
  } as Record<RunStatus, string>,

  /** Readable schedule text: `daily 02:30` → "Daily at 02:30". */
  schedule: (text: string): string => {
    const w = text.trim().split(/\s+/);
    if (w[0] === 'manual') return 'Manual (only when you start it)';
    if (w[0] === 'hourly') return 'Every hour';
    if (w[0] === 'every' && w[1]) {
      const m = /^(\d+)(s|m|min|h|d)$/.exec(w[1]);
      if (m) {
        const unit = { s: ['second', 'seconds'], m: ['minute', 'minutes'], min: ['minute', 'minutes'], h: ['hour', 'hours'], d: ['day', 'days'] }[m[2]]!;
        return `Every ${plural(Number(m[1]), unit[0], unit[1])}`;
      }
    }
    if (w[0] === 'daily' && w[1]) return `Daily at ${w[1]}`;
    if (w[0] === 'weekdays' && w[1]) return `Monday to Friday at ${w[1]}`;
    if (w[0] === 'weekly' && w[1] && w[2]) {
      const days = w[1].split(',').map((d) => DAY_NAMES[d] ?? d);
      return `Every ${days.join(', ')} at ${w[2]}`;
    }
    return text;
  },

  dashboard: {
    heading: 'Backup sets',
    subtitle: (n: number) => (n === 0 ? 'No backup sets yet' : plural(n, 'backup set', 'backup sets')),
    create: 'Create a backup set',
    refresh: 'Refresh',
    loading: 'Loading backup sets…',
    emptyTitle: 'No backup sets yet',
    emptyHint:
      'A backup set says which mailboxes to back up, with which sign-in, when, and how long to keep the snapshots. Create one to start.',
    lastRun: 'Last run',
    nextRun: 'Next run',
    size: 'Size',
    schedule: 'Schedule',
    mailboxes: 'Mailboxes',
    never: 'Never',
    manualOnly: 'Only when started',
    unknownSize: '—',
    sparkline: (runs: number[]) =>
      runs.length === 0
        ? 'No runs yet'
        : `Items per run, last ${plural(runs.length, 'run', 'runs')}: from ${Math.min(...runs).toLocaleString()} to ${Math.max(...runs).toLocaleString()}, latest ${runs[runs.length - 1].toLocaleString()}`,
    warningsLabel: 'Needs your attention',
    runNow: 'Back up now',
    stop: 'Stop',
    stopping: 'Stopping…',
    edit: 'Edit',
    remove: 'Remove',
    runningBadge: 'Running',
    removeQuestion: (name: string) => `Remove the backup set “${name}”?`,
    removeHint: 'Its snapshots stay in the repository; only the set and its schedule go.',
    removeConfirm: 'Remove',
    removeCancel: 'Keep it',
    removed: (name: string) => `The backup set “${name}” was removed.`,
    actionsLabel: (name: string) => `Actions for ${name}`,
    runsLabel: 'Sets running',
    sidebarRunning: (n: number, percent: number | null) =>
      `${n === 1 ? 'Backing up 1 set' : `Backing up ${n} sets`}${percent === null ? '…' : ` ${percent}%`}`,
  },

  run: {
    title: (name: string) => `Backing up “${name}”`,
    progressLabel: (name: string) => `Progress of ${name}`,
    perMailbox: 'Mailboxes',
    colMailbox: 'Mailbox',
    colFolder: 'Current folder',
    colItems: 'Items',
    colBytes: 'Data read',
    colState: 'State',
    mailboxDone: 'Done',
    mailboxWorking: 'Working',
    stopped: (name: string) => `The backup of “${name}” was stopped. It made no snapshot; the history lists it as interrupted.`,
    failed: (name: string, message: string) => `The backup of “${name}” failed: ${message}`,
    reportTitle: (name: string) => `“${name}”: backup complete`,
    reportTitleWithFailures: (name: string) => `“${name}”: backup complete with errors`,
    retentionError: (message: string) => `Retention could not be applied: ${message}`,
    dismiss: 'Close',
  },

  wizard: {
    titleNew: 'New backup set',
    titleEdit: (name: string) => `Edit “${name}”`,
    stepsLabel: 'Steps',
    stepOf: (n: number, total: number) => `Step ${n} of ${total}`,
    steps: {
      name: 'Name',
      signin: 'Sign in',
      permissions: 'Permissions',
      mailboxes: 'Mailboxes',
      destination: 'Destination',
      schedule: 'Schedule',
      retention: 'Retention',
      summary: 'Summary',
    } as Record<string, string>,
    done: 'done',
    current: 'current step',
    back: 'Back',
    next: 'Next',
    cancel: 'Cancel',
    save: 'Save',
    saveRun: 'Save and back up now',
    saving: 'Saving…',
    saved: (name: string) => `The backup set “${name}” was saved.`,

    // name
    nameLabel: 'Name of the backup set',
    nameHint: 'For example “All staff, nightly”. Used on the dashboard, in the history and by the CLI.',
    nameReadOnly: 'The name of a saved set cannot be changed.',
    errNameEmpty: 'Enter a name.',
    errNameSpaces: 'The name may not start or end with spaces.',
    errNameLong: 'The name is too long (100 characters at most).',
    errNameTaken: (name: string) => `A backup set named “${name}” already exists (names ignore case).`,

    // sign-in
    signinIntro: 'How this set signs in to Microsoft 365. Secrets go to the keychain of this computer, never to a file.',
    demoTitle: 'Demo tenant',
    demoHint: 'This app runs against its built-in demo tenant (Contoso). One click fills in its app and signs in.',
    useDemo: 'Use the demo tenant',
    methodLegend: 'Sign-in method',
    methods: {
      app: 'App credentials (organisation)',
      device: 'Device code',
      browser: 'Sign in with browser',
    } as Record<string, string>,
    methodHints: {
      app: 'An app registration with application permissions; backs up every chosen mailbox without a person. Best for scheduled and server runs.',
      device: 'A person signs in on any device with a short code. Backs up what that person may read.',
      browser: 'A person signs in in the system browser (PKCE). Backs up what that person may read.',
    } as Record<string, string>,
    tenantId: 'Tenant id',
    tenantHint: 'Directory (tenant) id or a domain such as contoso.onmicrosoft.com.',
    clientId: 'Client (application) id',
    clientHint: 'Of the app registration in Microsoft Entra ID.',
    credentialLegend: 'Credential',
    clientSecret: 'Client secret',
    certificate: 'Certificate',
    secretLabel: 'Client secret value',
    secretHint: 'Goes straight to the OS keychain; it is not kept in this window.',
    secretDemoHint: 'The demo tenant’s secret is built in: leave this empty.',
    pemLabel: 'Certificate and private key (PEM)',
    pemHint: 'Paste the PEM text (“-----BEGIN CERTIFICATE-----” … and the private key). It goes to the OS keychain.',
    advanced: 'Advanced: endpoints',
    graphUrl: 'Microsoft Graph URL',
    authority: 'Sign-in authority',
    signIn: 'Sign in',
    signingIn: 'Signing in…',
    signInAgain: 'Sign in again',
    signedInAs: (who: string) => `Signed in: ${who}`,
    startDevice: 'Get a code',
    deviceWaiting: 'Waiting for you to sign in…',
    deviceInstructions: 'On any device, open this page and enter the code:',
    deviceCodeLabel: 'Your code',
    copy: 'Copy code',
    copyUrl: 'Copy address',
    copied: 'Copied to the clipboard.',
    copyFailed: 'Could not copy; select the code and copy it.',
    deviceExpires: (minutes: number) => `The code expires in ${plural(minutes, 'minute', 'minutes')}.`,
    startBrowser: 'Open the browser to sign in',
    browserWaiting: 'Finish signing in in your browser…',
    cancelSignin: 'Cancel sign-in',
    errConnection: 'Enter the tenant id and the client id.',
    errSignIn: 'Sign in before you go on.',

    // permissions
    permissionsIntro:
      'The app checks what this sign-in may read and write in each mailbox and category. Restores need write access; backups need read access.',
    check: 'Check permissions',
    checking: 'Checking permissions…',
    retry: 'Retry',
    signInKind: (kind: string) => (kind === 'delegated' ? 'Signed in as a person (delegated)' : 'Signed in as the app (application permissions)'),
    allGood: 'Every permission this set needs is granted.',
    problems: (n: number) => `${plural(n, 'problem', 'problems')} found. Grant what is missing, then Retry. You may go on; what is missing will not be backed up.`,
    notTested: (n: number) => `${plural(n, 'more mailbox', 'more mailboxes')} not tested (50 at most are probed).`,
    colMailbox: 'Mailbox',
    colCategory: 'Category',
    colRead: 'Read',
    colWrite: 'Write',
    colMissing: 'Missing permission',
    colFix: 'How to fix',
    directory: 'Directory (list users)',
    access: { ok: 'OK', missing: 'Missing', unknown: 'Unknown', error: 'Error' } as Record<string, string>,
    granted: 'Granted permissions',
    errCheck: 'Run the permission check first.',

    // mailboxes
    mailboxesIntro: 'Which mailboxes and what of them this set backs up.',
    allUsers: 'All users',
    allUsersHint: 'Every user mailbox, including people who join later.',
    allShared: 'All shared mailboxes',
    allSharedHint: 'Every shared mailbox, including new ones.',
    searchLabel: 'Search mailboxes',
    searchPlaceholder: 'Name or address',
    selectAll: 'Select all matching',
    moreMatches: (shown: number, total: number) =>
      `Showing ${shown.toLocaleString()} of ${total.toLocaleString()} mailboxes; type to narrow the list. “Select all matching” takes all ${total.toLocaleString()}.`,
    listLabel: 'Mailboxes',
    sharedBadge: 'Shared',
    includedByToggle: 'included by the toggle above',
    selectedCount: (n: number) => plural(n, 'mailbox selected', 'mailboxes selected'),
    noMatch: 'No mailbox matches.',
    loadingDirectory: 'Loading the directory…',
    categoriesLegend: 'What to back up',
    foldersTitle: 'Folders (optional)',
    foldersHint:
      'By default every mail folder is backed up. Mark folders to back up only those (Include) or to leave them out (Exclude); a mark covers the folder and everything below it, and applies to every mailbox of the set.',
    folderMailbox: 'Show the folders of',
    folderTreeLabel: (mailbox: string) => `Mail folders of ${mailbox}`,
    expand: (name: string) => `Expand ${name}`,
    collapse: (name: string) => `Collapse ${name}`,
    folderMark: (name: string) => `Backup of ${name}`,
    markDefault: 'Default',
    markInclude: 'Include',
    markExclude: 'Exclude',
    folderItems: (n: number) => plural(n, 'item', 'items'),
    loadingFolders: 'Loading folders…',
    patterns: 'Folder patterns',
    patternsNone: 'Every folder.',
    includePatterns: 'Include',
    excludePatterns: 'Exclude',
    removePattern: (p: string) => `Remove pattern ${p}`,
    errNoMailbox: 'Choose at least one mailbox, or All users / All shared mailboxes.',
    errNoCategory: 'Choose at least one thing to back up.',

    // destination
    destinationIntro: 'The repository this set backs up into.',
    repository: 'Repository',
    repositoryHint: 'A folder path or an s3: URL. By default the repository open in this window.',
    useOpen: 'Use the open repository',
    keychainNote:
      'Scheduled runs open the repository by themselves: its password must be in the OS keychain (“Remember the password” when opening it, or `qcbackup set secret`).',
    errRepository: 'Enter the repository.',

    // schedule
    scheduleIntro: 'When this set runs by itself.',
    scheduleLegend: 'Run',
    kinds: {
      manual: 'Manually',
      hourly: 'Every hour',
      daily: 'Daily',
      weekly: 'Weekly',
      custom: 'Custom',
    } as Record<string, string>,
    time: 'At',
    daysLegend: 'On',
    days: DAY_NAMES,
    customLabel: 'Schedule text',
    customHint: 'For example: every 6h, every 30m, weekdays 22:00, weekly mon,thu 03:00.',
    runOnLegend: 'Where it runs',
    runOnHints: {
      client: 'This app runs the set while it is open (and signed in to this computer’s keychain).',
      server: 'The qcbackup daemon on a server runs it, also when this app is closed.',
    } as Record<RunOn, string>,
    preview: (text: string) => `Schedule: ${text}`,
    errNoDay: 'Choose at least one day.',
    errScheduleEmpty: 'Enter a schedule.',

    // retention
    retention: {
      intro: 'How long snapshots are kept. A snapshot is kept if any rule keeps it.',
      legend: 'Keep',
      presets: {
        all: 'Keep everything',
        standard: 'Standard: 7 daily, 4 weekly, 12 monthly',
        long: 'Long term: 7 daily, 4 weekly, 12 monthly, 5 yearly',
        custom: 'Custom',
      } as Record<string, string>,
      presetHints: {
        all: 'No snapshot is ever removed. The repository only grows.',
        standard: 'A week of daily snapshots, a month of weekly ones and a year of monthly ones.',
        long: 'Like Standard, plus one snapshot per year for five years.',
        custom: 'Your own rules below.',
      } as Record<string, string>,
      advanced: 'Advanced',
      keepLast: 'Keep the last … snapshots',
      keepWithin: 'Keep everything within',
      keepHourly: 'Hourly snapshots',
      keepDaily: 'Daily snapshots',
      keepWeekly: 'Weekly snapshots',
      keepMonthly: 'Monthly snapshots',
      keepYearly: 'Yearly snapshots',
      deletedItemRetention: 'Deleted items stay restorable for at least',
      spanHint: 'A span such as 30d, 12w or 1y.',
      countHint: 'A whole number; empty for none.',
      errCount: 'Enter a whole number of 1 or more, or leave it empty.',
      errSpan: 'Enter a span such as 30d, 12w or 1y.',
      errNoRule: 'Set at least one keep rule, or choose “Keep everything”.',
    },

    // summary
    summaryIntro: 'Check your choices, then save.',
    sumName: 'Name',
    sumSignin: 'Sign-in',
    sumMailboxes: 'Mailboxes',
    sumCategories: 'Backs up',
    sumFolders: 'Folders',
    sumRepository: 'Repository',
    sumSchedule: 'Schedule',
    sumRunOn: 'Runs on',
    sumRetention: 'Retention',
    allFolders: 'Every folder',
    foldersSummary: (inc: string[], exc: string[]) =>
      [inc.length ? `only ${inc.join(', ')}` : 'every folder', exc.length ? `except ${exc.join(', ')}` : ''].filter(Boolean).join(' '),
    mailboxSummary: (allUsers: boolean, shared: boolean, users: string[]) =>
      [allUsers ? 'All users' : '', shared ? 'All shared mailboxes' : '', users.length ? users.join(', ') : '']
        .filter(Boolean)
        .join(' + ') || 'Every mailbox',
    retentionSummary: (parts: string[]) => (parts.length ? parts.join(', ') : 'Keep everything'),
    /** The rules of a policy, e.g. ["7 daily", "4 weekly", "deleted items for 90d"]. */
    retentionParts: (p: RetentionPolicy): string[] =>
      [
        p.keepLast ? `last ${p.keepLast}` : '',
        p.keepWithin ? `everything within ${p.keepWithin}` : '',
        p.keepHourly ? `${p.keepHourly} hourly` : '',
        p.keepDaily ? `${p.keepDaily} daily` : '',
        p.keepWeekly ? `${p.keepWeekly} weekly` : '',
        p.keepMonthly ? `${p.keepMonthly} monthly` : '',
        p.keepYearly ? `${p.keepYearly} yearly` : '',
        p.deletedItemRetention ? `deleted items for ${p.deletedItemRetention}` : '',
      ].filter(Boolean),
    signinSummary: (method: string, who: string) => `${method} — ${who}`,
    edit: 'Change',
  },

  history: {
    heading: 'History',
    subtitle: (n: number) => plural(n, 'run', 'runs'),
    filterLabel: 'Backup set',
    allSets: 'All sets',
    refresh: 'Refresh',
    loading: 'Loading the history…',
    empty: 'No runs yet.',
    emptyHint: 'Runs of your backup sets appear here, scheduled or started by hand.',
    colStarted: 'Started',
    colSet: 'Backup set',
    colStatus: 'Status',
    colTrigger: 'Trigger',
    colItems: 'Items',
    colFailed: 'Failed',
    colDuration: 'Duration',
    details: 'Details',
    detailsOf: (set: string, when: string) => `Details of the run of ${set} started ${when}`,
    triggers: { manual: 'By hand', schedule: 'Scheduled', client: 'This app' } as Record<string, string>,
    back: 'Back to the history',
    detailTitle: (set: string) => `Run of “${set}”`,
    started: 'Started',
    finished: 'Finished',
    duration: 'Duration',
    host: 'Computer',
    snapshot: 'Snapshot',
    mailboxes: 'Mailboxes',
    items: 'Items',
    itemsFetched: 'Items fetched',
    bytesAdded: 'Data added',
    failedItems: 'Failed items',
    forgotten: 'Snapshots removed by retention',
    message: 'Message',
    stillRunning: 'Still running',
    noFailed: 'No item failed.',
    logTitle: 'Log of this run',
    logEmpty: 'This run wrote nothing to its log here (it ran elsewhere, or before run logs were kept).',
    logLoading: 'Loading the log…',
  },
};
