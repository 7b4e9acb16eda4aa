// Every user-visible string of the UI. Parametrised strings are functions.
import type { LogLevel, ProgressPhase, Theme } from '../backend/types';
import type { SortDir, SortKey } from '../snapshots/items';
import { restoreStrings } from './restore';
import { setsStrings } from './sets';
import { versionsStrings } from './versions';

export const en = {
  appName: 'QCBackup Manager',
  tagline: 'Microsoft 365 mailbox backup',
  loading: 'Loading…',
  version: (v: string) => `Version ${v}`,

  header: {
    tenantLabel: 'Source',
    demoTenant: 'Demo tenant',
    liveTenant: 'Microsoft 365',
    graphUrl: 'Graph endpoint',
    repoLabel: 'Repository',
    noRepo: 'No repository open',
  },

  nav: {
    label: 'Main',
    repository: 'Repository',
    snapshots: 'Snapshots',
    settings: 'Settings',
    needsRepo: 'Open a repository first',
  },

  error: {
    title: 'Something went wrong',
    dismiss: 'Dismiss error',
    codeLabel: 'Error code',
    retry: 'Retry',
    startup: 'The application could not start.',
  },

  repo: {
    keychainWarning: (why: string) =>
      `The repository is open, but its password could not be kept in the system keychain, so scheduled backups cannot open it on their own: ${why}`,
    title: 'Open a backup repository',
    intro:
      'Backups are stored in an encrypted repository on this computer or a network drive. Create a new one, or open a repository you already use.',
    modeLegend: 'What do you want to do?',
    modeCreate: 'Create new repository',
    modeCreateHint: 'Initialise an empty, encrypted repository at the path below.',
    modeOpen: 'Open existing',
    modeOpenHint: 'Unlock a repository that already holds backups.',
    storageLegend: 'Where is the repository?',
    storageLocal: 'Folder',
    storageLocalHint: 'On this computer, a USB disk or a mounted network share.',
    storageS3: 'S3-compatible storage',
    storageS3Hint: 'Amazon S3, MinIO, Wasabi, Backblaze B2, SeaweedFS …',
    path: 'Repository path',
    pathHint: 'A folder on a local disk or a mounted network share.',
    s3Endpoint: 'Endpoint URL',
    s3EndpointHint: 'For example https://s3.eu-central-1.amazonaws.com',
    s3Bucket: 'Bucket',
    s3Region: 'Region',
    s3RegionHint: 'Leave as us-east-1 if your provider has no regions.',
    s3Prefix: 'Folder in the bucket (optional)',
    s3AccessKeyId: 'Access key ID',
    s3SecretAccessKey: 'Secret access key',
    s3SecretHint: 'Kept in the OS keychain with the password when you choose to remember it.',
    errS3Endpoint: 'Enter the endpoint as an http:// or https:// URL.',
    errS3Bucket: 'Enter the bucket name.',
    errS3AccessKeyId: 'Enter the access key ID.',
    errS3Secret: 'Enter the secret access key.',
    remember: 'Remember the password in the system keychain',
    rememberHint:
      'The app can then open this repository without asking. Untick to type the password each time; it is never stored anywhere else.',
    password: 'Password',
    passwordConfirm: 'Confirm password',
    showPassword: 'Show password',
    warningTitle: 'Keep this password safe',
    warning:
      'The password encrypts every backup. There is no recovery: if the password is lost, the backups in this repository cannot be restored by anyone, including us. Write it down or keep it in a password manager.',
    strengthLabel: 'Password strength',
    strength: {
      empty: 'Enter a password',
      weak: 'Weak — use at least 12 characters',
      fair: 'Fair — longer, or mix letters, digits and symbols',
      good: 'Good',
      strong: 'Strong',
    } as Record<'empty' | 'weak' | 'fair' | 'good' | 'strong', string>,
    submitCreate: 'Create repository',
    submitOpen: 'Open repository',
    working: 'Working…',
    errPathRequired: 'Enter the path of the repository.',
    errPasswordRequired: 'Enter the repository password.',
    errConfirmMismatch: 'The passwords do not match.',
  },

  snapshots: {
    title: 'Snapshots',
    heading: 'All snapshots',
    subtitle: (n: number) => (n === 1 ? '1 snapshot in this repository' : `${n} snapshots in this repository`),
    empty: 'No snapshots yet',
    emptyHint: 'Run your first backup with “Back up now”. Each backup becomes a snapshot you can browse here.',
    refresh: 'Refresh',
    loading: 'Loading snapshots…',
    colId: 'Snapshot',
    colTime: 'Date',
    colHost: 'Host',
    colMailboxes: 'Mailboxes',
    colItems: 'Items',
    colSize: 'Size',
    open: (shortId: string) => `Browse snapshot ${shortId}`,
    moreMailboxes: (n: number) => `+${n} more`,
  },

  browser: {
    back: 'Back to snapshots',
    breadcrumb: 'Location in snapshot',
    root: (shortId: string) => `Snapshot ${shortId}`,
    taken: (when: string, host: string) => `Taken ${when} on ${host}`,
    folders: 'Folders',
    items: 'Messages',
    loading: 'Loading folder…',
    emptyTitle: 'This folder is empty',
    emptyHint: 'No messages or subfolders were backed up here.',
    folderMeta: (items: number, children: number) =>
      [
        items === 1 ? '1 item' : `${items} items`,
        children > 0 ? (children === 1 ? '1 subfolder' : `${children} subfolders`) : '',
      ]
        .filter(Boolean)
        .join(' · '),
    colSubject: 'Subject',
    colFrom: 'From',
    colReceived: 'Received',
    colSize: 'Size',
    colStatus: 'Status',
    unread: 'Unread',
    read: 'Read',
    attachment: 'Has attachments',
    noSubject: '(no subject)',
    filter: 'Filter messages',
    filterPlaceholder: 'Filter by subject or sender',
    sortLabel: 'Sort by',
    sortKey: { date: 'Date', subject: 'Subject', from: 'Sender', size: 'Size' } as Record<SortKey, string>,
    sortDir: { asc: 'ascending', desc: 'descending' } as Record<SortDir, string>,
    sortButton: (key: string, state: string) => `Sort by ${key}${state ? `, now ${state}` : ''}`,
    listLabel: 'Messages in this folder',
    count: (shown: string, total: string, filtered: boolean) =>
      filtered ? `${shown} of ${total} messages` : total === '1' ? '1 message' : `${total} messages`,
    sortedBy: (key: string, dir: string) => `Sorted by ${key}, ${dir}`,
    noMatch: 'No message matches the filter.',
    keyboardHint: 'Use the arrow keys, Page Up/Down, Home and End to move through the list.',
  },

  preview: {
    label: 'Message preview',
    empty: 'Select a message to see it here.',
    loading: 'Loading message…',
    from: 'From',
    to: 'To',
    cc: 'Cc',
    date: 'Date',
    attachments: (n: number) => (n === 1 ? '1 attachment' : `${n} attachments`),
    bodyFrame: (subject: string) => `Message body: ${subject}`,
    remoteBlocked: (n: number) =>
      n === 1
        ? '1 remote image or style was blocked to protect your privacy.'
        : `${n} remote images or styles were blocked to protect your privacy.`,
    showRemote: 'Show remote content',
    remoteShown: 'Remote content is shown for this message.',
    noBody: 'This message has no body.',
    cannotShow: 'The formatted text of this message cannot be shown safely here.',
  },

  settings: {
    heading: 'Settings',
    intro: 'These settings are saved on this computer. Nothing secret is stored in them.',
    appearance: 'Appearance',
    themeLegend: 'Theme',
    theme: { system: 'Follow the system', light: 'Light', dark: 'Dark' } as Record<Theme, string>,
    themeHint: {
      system: 'Switches with your operating system’s light or dark mode.',
      light: 'Always light.',
      dark: 'Always dark.',
    } as Record<Theme, string>,
    backups: 'Backups',
    concurrency: 'Mailboxes backed up at once',
    concurrencyHint: (min: number, max: number) =>
      `From ${min} to ${max}. More is faster until Microsoft 365 starts throttling.`,
    concurrencyError: (min: number, max: number) => `Enter a whole number from ${min} to ${max}.`,
    diagnostics: 'Diagnostics',
    logLevel: 'Log detail',
    logLevelHint: 'Logs never contain passwords, tokens or mail content.',
    logLevels: {
      error: 'Errors only',
      warn: 'Warnings and errors',
      info: 'Normal (recommended)',
      debug: 'Debug',
      trace: 'Trace (very detailed)',
    } as Record<LogLevel, string>,
    notifications: 'Notifications',
    notifyOnSuccess: 'Also notify when a scheduled backup succeeds',
    notifyOnSuccessHint: 'Warnings and failures of scheduled backups are always shown as desktop notifications.',
    desktop: 'Desktop',
    closeToTray: 'Keep running in the tray when the window is closed',
    closeToTrayHint: 'Scheduled backups only run while the app is running. Quit it from the tray icon.',
    startAtLogin: 'Start when I log in',
    startAtLoginHint: 'The app starts in the tray when you log in to this computer, so scheduled backups run.',
    logs: 'Logs',
    logDir: 'Log folder',
    logDirHint: 'One log file a day; the last 14 are kept. Send them with a support request.',
    logDirUnknown: 'Not known',
    openLogs: 'Open log folder',
    save: 'Save settings',
    saving: 'Saving…',
    saved: 'Settings saved.',
    loadFailed: 'The saved settings could not be read; the defaults are shown.',
  },

  backup: {
    run: 'Back up now',
    running: 'Backing up…',
    title: 'Backup',
    progressLabel: 'Backup progress',
    phase: {
      listing: 'Listing mailboxes',
      mailbox: 'Mailbox',
      folder: 'Scanning folder',
      items: 'Backing up messages',
      saving: 'Saving snapshot',
      done: 'Finished',
    } as Record<ProgressPhase, string>,
    itemsOf: (done: string, total: string) => `${done} of ${total} items`,
    itemsDone: (done: string) => `${done} items`,
    bytes: (size: string) => `${size} read`,
    progressItems: 'Items',
    progressBytes: 'Data read',
    progressRate: 'Speed',
    progressEta: 'Time left',
    rate: (perSecond: string) => `${perSecond} items/s`,
    eta: (left: string) => `about ${left} left`,
    throttled: (n: number) =>
      n === 1
        ? 'Exchange Online is throttling: 1 request waits, as Microsoft asks'
        : `Exchange Online is throttling: ${n} requests wait, as Microsoft asks`,
    reportTitle: 'Backup complete',
    reportTitleWithFailures: 'Backup complete with errors',
    reportSnapshot: 'Snapshot',
    reportMailboxes: 'Mailboxes',
    reportFolders: 'Folders',
    reportItems: 'Items in snapshot',
    reportFetched: 'Items fetched',
    reportBytesAdded: 'Data added',
    reportDuration: 'Duration',
    failedTitle: (n: number) => (n === 1 ? '1 item could not be backed up' : `${n} items could not be backed up`),
    failedNone: 'Every item was backed up.',
    failedColMailbox: 'Mailbox',
    failedColFolder: 'Folder',
    failedColItem: 'Item',
    failedColReason: 'Reason',
    browse: 'Browse this snapshot',
    dismiss: 'Close report',
  },

  /** Dashboard, backup-set wizard, history (i18n/sets.ts). */
  sets: setsStrings,
  /** Search, restore wizard, export (i18n/restore.ts). */
  restore: restoreStrings,
  /** An item's versions across snapshots and their comparison (i18n/versions.ts). */
  versions: versionsStrings,
};

export type Strings = typeof en;
export const t: Strings = en;
