// The job history's per-run log: the Tauri backend's command and arguments, and the mock's log.
import { clearMocks, mockIPC } from '@tauri-apps/api/mocks';
import { afterEach, describe, expect, it } from 'vitest';
import { TauriBackend } from '../src/lib/backend/tauri';
import { MockBackend } from '../src/lib/backend/mock';

afterEach(() => clearMocks());

describe('history_log', () => {
  it('asks the shell for one run by its id', async () => {
    const calls: { cmd: string; args: unknown }[] = [];
    mockIPC((cmd, args) => {
      calls.push({ cmd, args });
      return cmd === 'history_log' ? '2026-11-28T05:00:00Z  INFO qcb_engine::backup: backup finished\n' : null;
    });
    const text = await new TauriBackend().historyLog(42);
    expect(text).toContain('backup finished');
    expect(calls).toEqual([{ cmd: 'history_log', args: { runId: 42 } }]);
  });

  it('the mock has no log for a run it never recorded', async () => {
    const b = new MockBackend({ open: true, stepDelayMs: 0 });
    expect(await b.historyLog(999)).toBe('');
  });
});
