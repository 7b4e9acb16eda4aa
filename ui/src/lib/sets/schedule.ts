// Schedule text as the engine reads it (qcb_engine::sets::schedule): `manual`, `hourly`,
// `every 6h`, `daily 02:30`, `weekdays 22:00`, `weekly mon,thu 03:00`. The engine stays the
// judge (set_save rejects bad text); this gives the wizard early feedback and readable labels.

export const WEEKDAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] as const;
export type Weekday = (typeof WEEKDAYS)[number];

export type ParsedSchedule =
  | { kind: 'manual' }
  | { kind: 'every'; seconds: number }
  /** `days`: 0 = Monday. */
  | { kind: 'at'; days: number[]; hour: number; minute: number };

/** Parses schedule text like `Schedule::parse`; throws an Error with the engine's message. */
export function parseSchedule(text: string): ParsedSchedule {
  const words = text.split(/\s+/).filter(Boolean);
  const help = 'write manual, every 6h, hourly, daily 02:30, weekdays 22:00, or weekly mon,thu 03:00';
  const bad = (why: string) => new Error(`schedule ${JSON.stringify(text)}: ${why}; ${help}`);
  const time = (s: string) => {
    const m = /^(\d{1,2}):(\d{2})$/.exec(s);
    if (!m || Number(m[1]) > 23 || Number(m[2]) > 59) throw bad(`${JSON.stringify(s)} is not a time such as 02:30`);
    return { hour: Number(m[1]), minute: Number(m[2]) };
  };
  if (words.length === 1 && words[0] === 'manual') return { kind: 'manual' };
  if (words.length === 1 && words[0] === 'hourly') return { kind: 'every', seconds: 3600 };
  if (words.length === 2 && words[0] === 'every') {
    const m = /^(\d+)(s|m|min|h|d)$/.exec(words[1]);
    if (!m) throw bad(`${JSON.stringify(words[1])} is not an interval such as 6h`);
    const unit = ({ s: 1, m: 60, min: 60, h: 3600, d: 86_400 } as Record<string, number>)[m[2]];
    const seconds = Number(m[1]) * unit;
    if (seconds <= 0 || seconds > 366 * 86_400) throw bad(`${JSON.stringify(words[1])}: between 1s and 366d`);
    return { kind: 'every', seconds };
  }
  if (words.length === 2 && words[0] === 'daily') return { kind: 'at', days: [0, 1, 2, 3, 4, 5, 6], ...time(words[1]) };
  if (words.length === 2 && words[0] === 'weekdays') return { kind: 'at', days: [0, 1, 2, 3, 4], ...time(words[1]) };
  if (words.length === 3 && words[0] === 'weekly') {
    const days: number[] = [];
    for (const d of words[1].split(',')) {
      const i = WEEKDAYS.indexOf(d.trim().toLowerCase() as Weekday);
      if (i < 0) throw bad(`${JSON.stringify(d)} is not a day such as mon`);
      if (!days.includes(i)) days.push(i);
    }
    return { kind: 'at', days: days.sort((a, b) => a - b), ...time(words[2]) };
  }
  throw bad('not understood');
}

/** The engine's error for `text`, or null when it is valid. */
export function scheduleError(text: string): string | null {
  try {
    parseSchedule(text);
    return null;
  } catch (e) {
    return (e as Error).message;
  }
}

/** When a schedule is next due after `from` (local clock); null for manual sets. */
export function nextDue(schedule: ParsedSchedule, from: Date, lastStart: Date | null): Date | null {
  if (schedule.kind === 'manual') return null;
  if (schedule.kind === 'every') {
    const next = new Date((lastStart ?? from).getTime() + schedule.seconds * 1000);
    return next < from ? from : next;
  }
  for (let i = 0; i < 9; i++) {
    const d = new Date(from.getFullYear(), from.getMonth(), from.getDate() + i, schedule.hour, schedule.minute);
    if (d > from && schedule.days.includes((d.getDay() + 6) % 7)) return d;
  }
  return null;
}

/** The wizard's schedule choices, and back to text. */
export type ScheduleKind = 'manual' | 'hourly' | 'daily' | 'weekly' | 'custom';
export type ScheduleChoice = { kind: ScheduleKind; time: string; days: Weekday[]; custom: string };

const pad = (n: number) => String(n).padStart(2, '0');

export function scheduleText(c: ScheduleChoice): string {
  switch (c.kind) {
    case 'manual':
      return 'manual';
    case 'hourly':
      return 'hourly';
    case 'daily':
      return `daily ${c.time}`;
    case 'weekly': {
      const days = WEEKDAYS.filter((d) => c.days.includes(d));
      return `weekly ${days.join(',')} ${c.time}`;
    }
    case 'custom':
      return c.custom.trim();
  }
}

/** The choice that writes `text` (anything else is custom text). */
export function scheduleChoice(text: string): ScheduleChoice {
  const base: ScheduleChoice = { kind: 'custom', time: '02:30', days: ['mon', 'tue', 'wed', 'thu', 'fri'], custom: text };
  let parsed: ParsedSchedule;
  try {
    parsed = parseSchedule(text);
  } catch {
    return base;
  }
  const words = text.trim().split(/\s+/);
  if (parsed.kind === 'manual') return { ...base, kind: 'manual', custom: '' };
  if (words[0] === 'hourly') return { ...base, kind: 'hourly', custom: '' };
  if (parsed.kind === 'at') {
    const time = `${pad(parsed.hour)}:${pad(parsed.minute)}`;
    if (words[0] === 'daily') return { ...base, kind: 'daily', time, custom: '' };
    return { ...base, kind: 'weekly', time, days: parsed.days.map((d) => WEEKDAYS[d]), custom: '' };
  }
  return base;
}
