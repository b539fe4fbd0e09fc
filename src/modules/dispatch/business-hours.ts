import type { BusinessHours } from './routing.types.ts';

type Day = keyof BusinessHours['weekly'];
const DAYS: readonly Day[] = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'];
const MINUTE_MS = 60_000;
const DAY_MS = 86_400_000;

/** A moment as the wall clock of a zone shows it. */
interface WallTime {
  /** `YYYY-MM-DD`. */
  readonly date: string;
  /** Minutes since local midnight (0 … 1439). */
  readonly minutes: number;
}

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatterFor(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (f === undefined) {
    f = new Intl.DateTimeFormat('en-US', { timeZone, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit' });
    formatters.set(timeZone, f);
  }
  return f;
}

function wallTime(timeZone: string, ms: number): WallTime {
  const parts: Record<string, string> = {};
  for (const { type, value } of formatterFor(timeZone).formatToParts(ms)) parts[type] = value;
  return { date: `${parts.year}-${parts.month}-${parts.day}`, minutes: Number(parts.hour) * 60 + Number(parts.minute) };
}

const minutesOf = (hhmm: string): number => Number(hhmm.slice(0, 2)) * 60 + Number(hhmm.slice(3, 5));
const dayOf = (date: string): Day => DAYS[new Date(`${date}T00:00:00Z`).getUTCDay()]!;
const addDays = (date: string, n: number): string => new Date(Date.parse(`${date}T00:00:00Z`) + n * DAY_MS).toISOString().slice(0, 10);
const compareWall = (a: WallTime, b: WallTime): number => (a.date < b.date ? -1 : a.date > b.date ? 1 : a.minutes - b.minutes);

/** The opening ranges of a local date, in minutes, earliest first; none on a holiday. */
function rangesOn(hours: BusinessHours, date: string): [number, number][] {
  if (hours.holidays?.includes(date)) return [];
  return (hours.weekly[dayOf(date)] ?? []).map(([from, to]): [number, number] => [minutesOf(from), minutesOf(to)]).sort((a, b) => a[0] - b[0]);
}

/**
 * Whether a group with these hours is open at `nowMs`: the wall clock of its zone (daylight saving
 * included) is within one of that weekday's ranges (start included, end not), and the local date
 * is not a holiday.
 */
export function isOpen(hours: BusinessHours, nowMs: number): boolean {
  const now = wallTime(hours.timeZone, nowMs);
  return rangesOn(hours, now.date).some(([from, to]) => now.minutes >= from && now.minutes < to);
}

/**
 * When the group next opens: `nowMs` if it is open now, else the first moment of its next range
 * (a range starting in a daylight-saving gap opens when the clock jumps past its start).
 * `undefined` when it never opens (no ranges, or every day for a week and the holidays is closed).
 */
export function nextOpening(hours: BusinessHours, nowMs: number): number | undefined {
  if (isOpen(hours, nowMs)) return nowMs;
  const now = wallTime(hours.timeZone, nowMs);
  const horizon = 8 + (hours.holidays?.length ?? 0);
  for (let i = 0; i < horizon; i++) {
    const date = addDays(now.date, i);
    for (const [from] of rangesOn(hours, date)) {
      const start: WallTime = { date, minutes: from };
      if (compareWall(start, now) <= 0) continue;
      return instantOf(hours.timeZone, start);
    }
  }
  return undefined;
}

/**
 * The first instant at which the zone's wall clock reads `wall` or later: the earlier of two when
 * the clock goes back (the time happens twice), the jump itself when it goes forward past it.
 */
function instantOf(timeZone: string, wall: WallTime): number {
  const asUtc = Date.parse(`${wall.date}T00:00:00Z`) + wall.minutes * MINUTE_MS;
  // The zone's offsets a day either side cover every transition near this time.
  const offsets = [asUtc - DAY_MS, asUtc + DAY_MS].map((t) => offsetAt(timeZone, t));
  const candidates = offsets.map((o) => asUtc - o).sort((a, b) => a - b);
  const exact = candidates.find((t) => compareWall(wallTime(timeZone, t), wall) === 0);
  if (exact !== undefined) return exact;
  // In a gap: search (by minute) for the first instant whose wall time is at or past `wall`.
  let lo = candidates[0]!;
  let hi = candidates[candidates.length - 1]!;
  while (hi - lo > MINUTE_MS) {
    const mid = lo + Math.floor((hi - lo) / 2 / MINUTE_MS) * MINUTE_MS;
    if (compareWall(wallTime(timeZone, mid), wall) >= 0) hi = mid;
    else lo = mid;
  }
  return hi;
}

/** The zone's offset from UTC at `ms`, in ms (whole minutes). */
function offsetAt(timeZone: string, ms: number): number {
  const floored = Math.floor(ms / MINUTE_MS) * MINUTE_MS;
  const wall = wallTime(timeZone, floored);
  return Date.parse(`${wall.date}T00:00:00Z`) + wall.minutes * MINUTE_MS - floored;
}
