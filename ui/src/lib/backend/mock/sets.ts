// The mock's backup sets, sign-in, directory and job history (see MockBackend).
// SCAFFOLD: the sets helper replaces every method body.
import type { MockBackend } from '../mock';
import { apiError } from '../errors';
import type {
  AppSecret,
  CategoryName,
  ConnectionReport,
  DeviceCodePrompt,
  FolderChoice,
  MailboxChoice,
  MailboxSelection,
  Progress,
  RunRecord,
  SetConnection,
  SetForm,
  SetOverview,
  SetRunReport,
  SignedIn,
} from '../types';

const todo = () => Promise.reject(apiError('internal', 'not yet in the mock'));

export class MockSets {
  constructor(readonly host: MockBackend) {}

  setsList(): Promise<SetOverview[]> { return todo(); }
  setGet(_name: string): Promise<SetForm> { return todo(); }
  setSave(_form: SetForm, _replace: boolean): Promise<SetOverview> { return todo(); }
  setRemove(_name: string): Promise<void> { return todo(); }
  setRun(_name: string, _onProgress: (progress: Progress) => void): Promise<SetRunReport> { return todo(); }
  setStop(_name: string): Promise<void> { return todo(); }
  historyList(_setName: string | null, _limit: number): Promise<RunRecord[]> { return todo(); }
  demoConnection(): Promise<SetConnection | null> { return todo(); }
  signinApp(_connection: SetConnection, _secret: AppSecret): Promise<SignedIn> { return todo(); }
  signinDevice(_connection: SetConnection, _onPrompt: (prompt: DeviceCodePrompt) => void): Promise<SignedIn> { return todo(); }
  signinBrowser(_connection: SetConnection): Promise<SignedIn> { return todo(); }
  signinCancel(): Promise<void> { return todo(); }
  connectionTest(_connection: SetConnection, _mailboxes: MailboxSelection, _categories: CategoryName[]): Promise<ConnectionReport> { return todo(); }
  directoryMailboxes(_connection: SetConnection): Promise<MailboxChoice[]> { return todo(); }
  directoryFolders(_connection: SetConnection, _mailbox: string, _parentId: string | null): Promise<FolderChoice[]> { return todo(); }
}
