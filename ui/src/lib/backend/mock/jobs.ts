// The mock's search, restore and export (see MockBackend).
// SCAFFOLD: the restore helper replaces every method body.
import type { MockBackend } from '../mock';
import { apiError } from '../errors';
import type { ExportReport, ExportRequest, Progress, RestoreReport, RestoreRequest, SearchQuery, SearchResults } from '../types';

const todo = () => Promise.reject(apiError('internal', 'not yet in the mock'));

export class MockJobs {
  constructor(readonly host: MockBackend) {}

  search(_query: SearchQuery): Promise<SearchResults> { return todo(); }
  restoreRun(_request: RestoreRequest, _onProgress: (progress: Progress) => void): Promise<RestoreReport[]> { return todo(); }
  exportRun(_request: ExportRequest, _onProgress: (progress: Progress) => void): Promise<ExportReport[]> { return todo(); }
  jobCancel(): Promise<void> { return todo(); }
  pickFolder(_title: string): Promise<string | null> { return todo(); }
}
