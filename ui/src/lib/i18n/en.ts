// Every user-visible string of the UI. Parametrised strings are functions.
import type { ProgressPhase } from '../backend/types';

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
  },

  error: {
    title: 'Something went wrong',
    dismiss: 'Dismiss error',
    codeLabel: 'Error code',
    retry: 'Retry',
    startup: 'The application could not start.',
  },

  repo: {
    title: 'Open a backup repository',
    intro:
      'Backups are stored in an encrypted repository on this computer or a network drive. Create a new one, or open a repository you already use.',
    modeLegend: 'What do you want to do?',
    modeCreate: 'Create new repository',
    modeCreateHint: 'Initialise an empty, encrypted repository at the path below.',
    modeOpen: 'Open existing',
    modeOpenHint: 'Unlock a repository that already holds backups.',
    path: 'Repository path',
    pathHint: 'A folder on a local disk or a mounted network share.',
    password: 'Password',
    passwordConfirm: 'Confirm password',
    showPassword: 'Show password',
    warningTitle: 'Keep this password safe',
    warning:
      'The password encrypts every backup. There is no recovery: if the password is lost, the backups in this repository cannot be restored by anyone.',
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
};

export type Strings = typeof en;
export const t: Strings = en;
