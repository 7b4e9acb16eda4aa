import { describe, expect, it } from 'vitest';
import { toApiError } from '../src/lib/backend/errors';
import { MockBackend, progressStart } from '../src/lib/backend/mock';
import { mockOptionsFromUrl } from '../src/lib/backend/mockConfig';
import type { Progress, RepoOpenArgs } from '../src/lib/backend/types';
import { paceFacts, progressPercent, progressText } from '../src/lib/backup/progressText';
import { formatBytes, formatDuration } from '../src/lib/format';
import { passwordStrength } from '../src/lib/repo/strength';
import { newestFirst } from '../src/lib/snapshots/sort';

describe('formatting', () => {
  it('formats bytes in binary units', () => {
    expect(formatBytes(0)).toBe('0 B');
    expect(formatBytes(1023)).toBe('1023 B');
    expect(formatBytes(1536)).toBe('1.5 KiB');
    expect(formatBytes(10 * 1024 * 1024)).toBe('10 MiB');
    expect(formatBytes(3.25 * 1024 ** 3)).toBe('3.25 GiB');
    expect(formatBytes(-1)).toBe('—');
  });
  it('formats durations', () => {
    expect(formatDuration(450)).toBe('450 ms');
    expect(formatDuration(4200)).toBe('4 s');
    expect(formatDuration(84_000)).toBe('1 min 24 s');
  });
  it('describes progress', () => {
    const p: Progress = { ...progressStart(20), phase: 'items', mailbox: 'a@b', folder: 'Inbox', itemsDone: 5, bytesDone: 2048 };
    expect(progressText(p)).toBe('Backing up messages · a@b / Inbox · 5 of 20 items · 2 KiB read');
    expect(progressPercent(p)).toBe(25);
    expect(progressPercent({ ...p, itemsTotal: 0 })).toBeNull();
  });
  it('adds speed, time left and throttling when the engine reports them', () => {
    const p: Progress = {
      phase: 'items', mailbox: 'a@b', folder: 'Inbox', itemsDone: 5, itemsTotal: 20, bytesDone: 2048,
      itemsPerSecond: 12.34, etaSeconds: 75, throttledNow: 2, requests: 40, throttleWaitMs: 900, elapsedMs: 3000,
    };
    expect(progressText(p)).toBe(
      'Backing up messages · a@b / Inbox · 5 of 20 items · 2 KiB read · 12.3 items/s · about 1 min 15 s left · ' +
        'Exchange Online is throttling: 2 requests wait, as Microsoft asks',
    );
    expect(paceFacts({ ...p, itemsPerSecond: 0, etaSeconds: null, throttledNow: 0 })).toEqual({ rate: null, eta: null, throttle: null });
  });
});

describe('toApiError', () => {
  it('keeps ApiErrors and normalises anything else', () => {
    expect(toApiError({ code: 'not_found', message: 'gone', extra: 1 })).toEqual({ code: 'not_found', message: 'gone' });
    expect(toApiError('{"code":"graph","message":"429"}')).toEqual({ code: 'graph', message: '429' });
    expect(toApiError('plain')).toEqual({ code: 'internal', message: 'plain' });
    expect(toApiError(new Error('boom'))).toEqual({ code: 'internal', message: 'boom' });
    expect(toApiError(undefined)).toEqual({ code: 'internal', message: 'Unknown error' });
  });
});

describe('helpers', () => {
  it('rates passwords', () => {
    expect(passwordStrength('').level).toBe('empty');
    expect(passwordStrength('aaaaaaaaaaaaaaaa').level).toBe('weak');
    expect(passwordStrength('abcdefgh').level).toBe('weak');
    expect(passwordStrength('mxkqwzrt').level).toBe('fair');
    expect(passwordStrength('mxkqwzrt1!').level).toBe('good');
    expect(passwordStrength('correct horse battery staple').level).toBe('strong');
  });
  it('sorts snapshots newest first', () => {
    const s = (id: string, time: string) => ({ id, shortId: id, time, hostname: 'h', mailboxes: [], itemCount: 0, sizeBytes: 0 });
    expect(newestFirst([s('a', '2025-01-01T00:00:00Z'), s('b', '2025-03-01T00:00:00Z'), s('c', '2025-02-01T00:00:00Z')]).map((x) => x.id)).toEqual(['b', 'c', 'a']);
  });
});

const local = (path: string, password: string, create: boolean): RepoOpenArgs => ({
  location: { kind: 'local', path },
  password,
  create,
  remember: false,
  s3SecretAccessKey: null,
});

describe('mock options from the query string', () => {
  it('reads delay, large folder size and open, with defaults', () => {
    const sets = { seed: false, signinDelayMs: 1500, missingPermissionTests: 0 };
    expect(mockOptionsFromUrl('')).toEqual({ stepDelayMs: 150, largeFolderItems: 100_000, open: false, sets });
    expect(mockOptionsFromUrl('?mockDelay=5&mockLarge=0&mockOpen=1')).toEqual({ stepDelayMs: 5, largeFolderItems: 0, open: true, sets });
    expect(mockOptionsFromUrl('?mockDelay=-3&mockLarge=abc')).toEqual({ stepDelayMs: 150, largeFolderItems: 100_000, open: false, sets });
    expect(mockOptionsFromUrl('?mockSets=1&mockSignin=0&mockMissing=2').sets).toEqual({ seed: true, signinDelayMs: 0, missingPermissionTests: 2 });
  });
});

describe('mock backend', () => {
  it('behaves like the commands', async () => {
    const m = new MockBackend();
    await expect(m.snapshotsList()).rejects.toMatchObject({ code: 'repo_not_open' });
    await expect(m.repoOpen(local('/x', 'p', false))).rejects.toMatchObject({ code: 'not_found' });
    await expect(m.repoOpen(local(m.defaultRepoPath, 'p', true))).rejects.toMatchObject({ code: 'invalid_input' });
    await expect(m.repoOpen(local(m.defaultRepoPath, 'bad', false))).rejects.toMatchObject({ code: 'wrong_password' });
    const repo = await m.repoOpen(local(m.defaultRepoPath, 'demo', false));
    expect(repo.snapshotCount).toBe(3);
    const [snap] = await m.snapshotsList();
    await expect(m.snapshotBrowse(snap.id, '/nobody@x/Inbox')).rejects.toMatchObject({ code: 'not_found' });
    const progress: Progress[] = [];
    const run = m.backupRun((p) => progress.push(p));
    await expect(m.backupRun(() => {})).rejects.toMatchObject({ code: 'already_running' });
    const report = await run;
    expect(progress[0].phase).toBe('listing');
    expect(progress.at(-1)).toMatchObject({ phase: 'done', itemsDone: progress.at(-1)!.itemsTotal });
    expect(progress.map((p) => p.itemsDone)).toEqual([...progress.map((p) => p.itemsDone)].sort((a, b) => a - b));
    expect((await m.snapshotsList()).at(-1)!.id).toBe(report.snapshotId);
  });
});
