// Types of the Tauri command contract.
//
// GENERATED (re-exported here): the engine's DTOs. ts-rs writes each qcb-engine type T to
// ./generated/T.ts (`make ts-types` rewrites them; a Rust test fails when they are stale;
// never edit them by hand). Re-exported under the engine's name unless the UI's differs:
//   Snapshot = SnapshotInfo, Progress = ProgressEvent, ProgressPhase = Phase,
//   Settings = AppSettings, SetConnection = ConnectionForm, MailboxSelection = MailboxesForm,
//   FolderFilter = FoldersForm, RetentionPolicy = RetentionForm, RestoreTarget = TargetForm.
//   Same name: Browse, FolderEntry, ItemEntry, ItemPreview, AttachmentInfo, ItemVersionInfo,
//   CheckReport, BackupReport, FailedItem, Theme, LogLevel, RunOn, AuthMethod, SetForm,
//   SetOverview, SetWarning, SetRunReport, RunRecord, RunStatus, ForgetReport, ForgetEntry,
//   AppSecret, SignedIn, ConnectionReport, MailboxAccess, CategoryAccess, Access,
//   MailboxChoice, FolderChoice, SearchQuery, SearchResults, SearchHit, SearchPlace,
//   RestoreRequest, RestoreReport, PlannedWrite, OnConflict, ExportRequest, ExportReport,
//   ExportedFile, MailFormat; JsonValue (serde_json::Value).
//
// Likewise the desktop shell's own DTOs (src-tauri/src/commands) in ./generated-shell:
// AppInfo, RepoSummary, RepoOpenArgs, RepoLocation (narrowed here to LocalLocation and
// S3Location), DeviceCodePrompt.
//
// WRITTEN HERE: the error contract (ApiError, API_ERROR_CODES), UI constants (THEMES,
// LOG_LEVELS, CATEGORY_NAMES, DEFAULT_SETTINGS, CONCURRENCY_*, SNIPPET_MARK_*), and narrowing
// helpers where the UI needs a narrower type than the engine's: CategoryName (the engine's
// category strings) and RunReportDetails (RunRecord.report, untyped JSON). Never a second
// copy of a generated DTO.

import type { JsonValue } from './generated/serde_json/JsonValue';
import type { FailedItem } from './generated/FailedItem';
import type { Theme } from './generated/Theme';
import type { LogLevel } from './generated/LogLevel';
import type { AppSettings as Settings } from './generated/AppSettings';

/** Every command may reject with this object. */
export type ApiError = { code: string; message: string };

/** Error codes the backend is known to use. */
export const API_ERROR_CODES = [
  'wrong_password',
  'not_found',
  'invalid_input',
  'repo_not_open',
  'already_running',
  'graph',
  'repository',
  'internal',
  'locked',
  'access_denied',
  'sign_in',
  'mailbox_full',
  'job_failed',
  'keychain',
  'missing_secret',
  'database',
  'cancelled',
] as const;
export type ApiErrorCode = (typeof API_ERROR_CODES)[number];

// ---------------------------------------------------------------------------------------
// Generated engine DTOs (./generated; see the list at the top).

export type { JsonValue } from './generated/serde_json/JsonValue';

export type { SnapshotInfo as Snapshot } from './generated/SnapshotInfo';
export type { FolderEntry } from './generated/FolderEntry';
export type { ItemEntry } from './generated/ItemEntry';
export type { Browse } from './generated/Browse';
export type { AttachmentInfo } from './generated/AttachmentInfo';
export type { ItemPreview } from './generated/ItemPreview';
export type { ItemVersionInfo } from './generated/ItemVersionInfo';
export type { CheckReport } from './generated/CheckReport';

export type { Phase as ProgressPhase } from './generated/Phase';
export type { ProgressEvent as Progress } from './generated/ProgressEvent';
export type { FailedItem } from './generated/FailedItem';
export type { BackupReport } from './generated/BackupReport';

export type { Theme } from './generated/Theme';
export type { LogLevel } from './generated/LogLevel';
export type { AppSettings as Settings } from './generated/AppSettings';

export type { RunOn } from './generated/RunOn';
export type { AuthMethod } from './generated/AuthMethod';
export type { ConnectionForm as SetConnection } from './generated/ConnectionForm';
export type { MailboxesForm as MailboxSelection } from './generated/MailboxesForm';
export type { FoldersForm as FolderFilter } from './generated/FoldersForm';
export type { RetentionForm as RetentionPolicy } from './generated/RetentionForm';
export type { SetForm } from './generated/SetForm';
export type { RunStatus } from './generated/RunStatus';
export type { RunRecord } from './generated/RunRecord';
export type { SetWarning } from './generated/SetWarning';
export type { SetOverview } from './generated/SetOverview';
export type { ForgetEntry } from './generated/ForgetEntry';
export type { ForgetReport } from './generated/ForgetReport';
export type { SetRunReport } from './generated/SetRunReport';
export type { AppSecret } from './generated/AppSecret';
export type { SignedIn } from './generated/SignedIn';
export type { Access } from './generated/Access';
export type { CategoryAccess } from './generated/CategoryAccess';
export type { MailboxAccess } from './generated/MailboxAccess';
export type { ConnectionReport } from './generated/ConnectionReport';
export type { MailboxChoice } from './generated/MailboxChoice';
export type { FolderChoice } from './generated/FolderChoice';

export type { SearchQuery } from './generated/SearchQuery';
export type { SearchPlace } from './generated/SearchPlace';
export type { SearchHit } from './generated/SearchHit';
export type { SearchResults } from './generated/SearchResults';

export type { OnConflict } from './generated/OnConflict';
export type { TargetForm as RestoreTarget } from './generated/TargetForm';
export type { RestoreRequest } from './generated/RestoreRequest';
export type { PlannedWrite } from './generated/PlannedWrite';
export type { RestoreReport } from './generated/RestoreReport';

export type { MailFormat } from './generated/MailFormat';
export type { ExportRequest } from './generated/ExportRequest';
export type { ExportedFile } from './generated/ExportedFile';
export type { ExportReport } from './generated/ExportReport';

// ---------------------------------------------------------------------------------------
// Narrowing helpers: where the UI needs a narrower type than the generated one.

/**
 * The categories the UI knows. The engine types them as plain strings (`SetForm.categories`,
 * `SetOverview.categories`, `SearchQuery.category`, `CategoryAccess.category`); the wizard and
 * the search filter offer exactly these. Narrow engine strings with `isCategoryName`.
 */
export type CategoryName = 'mail' | 'contacts' | 'calendars' | 'tasks' | 'settings';
export const CATEGORY_NAMES: readonly CategoryName[] = ['mail', 'contacts', 'calendars', 'tasks', 'settings'];
export function isCategoryName(name: string): name is CategoryName {
  return (CATEGORY_NAMES as readonly string[]).includes(name);
}

/**
 * What the UI reads of `RunRecord.report` (the engine stores `{ failed, durationMs }` of a
 * finished run as untyped JSON, `JsonValue`). Read it with `runReportDetails`.
 */
export type RunReportDetails = { failed: FailedItem[]; durationMs: number | null };
export function runReportDetails(report: JsonValue | undefined): RunReportDetails {
  const o = jsonObject(report);
  const failed = Array.isArray(o.failed) ? o.failed.map(jsonObject).map(failedItem) : [];
  return { failed, durationMs: typeof o.durationMs === 'number' ? o.durationMs : null };
}
function jsonObject(v: JsonValue | undefined): { [key in string]?: JsonValue } {
  return v !== null && v !== undefined && typeof v === 'object' && !Array.isArray(v) ? v : {};
}
function failedItem(o: { [key in string]?: JsonValue }): FailedItem {
  const text = (v: JsonValue | undefined) => (typeof v === 'string' ? v : '');
  return { mailbox: text(o.mailbox), folder: text(o.folder), itemId: text(o.itemId), reason: text(o.reason) };
}

// ---------------------------------------------------------------------------------------
// UI constants over generated types.

export const THEMES: readonly Theme[] = ['system', 'light', 'dark'];
export const LOG_LEVELS: readonly LogLevel[] = ['error', 'warn', 'info', 'debug', 'trace'];

/** The engine's `AppSettings::default()`, for the UI before settings are loaded. */
export const DEFAULT_SETTINGS: Settings = {
  theme: 'system',
  concurrency: 4,
  logLevel: 'info',
  notifyOnSuccess: false,
  closeToTray: true,
  startAtLogin: false,
};
export const CONCURRENCY_MIN = 1;
export const CONCURRENCY_MAX = 16;

/** `SearchHit.snippet` marks matched terms between these (the engine's MARK_START / MARK_END). */
export const SNIPPET_MARK_START = '\u{E000}';
export const SNIPPET_MARK_END = '\u{E001}';

// ---------------------------------------------------------------------------------------
// Desktop shell DTOs (src-tauri/src/commands), generated the same way into ./generated-shell.

export type { AppInfo } from './generated-shell/AppInfo';
export type { RepoSummary } from './generated-shell/RepoSummary';
export type { RepoOpenArgs } from './generated-shell/RepoOpenArgs';
export type { RepoLocation } from './generated-shell/RepoLocation';
export type { DeviceCodePrompt } from './generated-shell/DeviceCodePrompt';
import type { RepoLocation } from './generated-shell/RepoLocation';
/** A repository in a folder of this computer (or a mounted share). */
export type LocalLocation = Extract<RepoLocation, { kind: 'local' }>;
/** A repository in a bucket of an S3-compatible object store. */
export type S3Location = Extract<RepoLocation, { kind: 's3' }>;
