// Schedules of ScheduledComplianceScans: cron expressions as CronJob accepts them (five fields or a descriptor,
// no TZ= prefix), read in an IANA time zone by cron-parser, and the jitter offset of each scheduled time.
import { createHash } from 'node:crypto';
import { CronExpressionParser, type CronExpression } from 'cron-parser';

/** The descriptors CronJob (robfig/cron) accepts, as five-field expressions. */
const descriptors: Record<string, string> = {
  '@yearly': '0 0 1 1 *',
  '@annually': '0 0 1 1 *',
  '@monthly': '0 0 1 * *',
  '@weekly': '0 0 * * 0',
  '@daily': '0 0 * * *',
  '@midnight': '0 0 * * *',
  '@hourly': '0 * * * *',
};

/** Why `schedule` is not a valid cron schedule, or undefined when it is. */
export function scheduleProblem(schedule: string): string | undefined {
  try {
    cronExpression(schedule, 'UTC', new Date(0));
    return undefined;
  } catch (err) {
    return (err as Error).message;
  }
}

/**
 * The cron expression of `schedule` in `timeZone` (default UTC), iterating from `currentDate`. Throws with a
 * message for people when the schedule is not five cron fields or a known descriptor.
 */
export function cronExpression(schedule: string, timeZone = 'UTC', currentDate = new Date()): CronExpression {
  const text = schedule.trim();
  if (/^(CRON_)?TZ=/.test(text)) throw new Error('cannot use TZ or CRON_TZ in schedule, use timeZone instead');
  let expression = text;
  if (text.startsWith('@')) {
    const fields = descriptors[text];
    if (!fields) throw new Error(`unknown descriptor ${text} (known: ${Object.keys(descriptors).join(', ')})`);
    expression = fields;
  } else {
    const count = text.split(/\s+/).filter(Boolean).length;
    if (count !== 5) {
      throw new Error(`expected 5 fields (minute hour day-of-month month day-of-week), found ${count}`);
    }
    if (/H/i.test(text.replace(/[A-Za-z]{3}/g, ''))) throw new Error('hashed values (H) are not supported');
  }
  return CronExpressionParser.parse(expression, { tz: timeZone, currentDate });
}

/** The next `count` scheduled times after `from`. */
export function scheduleTimes(schedule: string, timeZone: string | undefined, from: Date, count: number): Date[] {
  const cron = cronExpression(schedule, timeZone ?? 'UTC', from);
  const times: Date[] = [];
  for (let i = 0; i < count && cron.hasNext(); i++) times.push(cron.next().toDate());
  return times;
}

/** The shortest gap between consecutive scheduled times over the next `count` runs after `from`, in seconds. */
export function shortestIntervalSeconds(
  schedule: string,
  timeZone: string | undefined,
  from = new Date(),
  count = 100,
): number | undefined {
  const times = scheduleTimes(schedule, timeZone, from, count);
  let shortest: number | undefined;
  for (let i = 1; i < times.length; i++) {
    const gap = (times[i]!.getTime() - times[i - 1]!.getTime()) / 1000;
    if (shortest === undefined || gap < shortest) shortest = gap;
  }
  return shortest;
}

/**
 * The jitter of one scheduled time, in whole seconds from 0 to `maxJitterSeconds`: derived from the object's UID
 * and the scheduled time, so every replica and every restart of the operator picks the same start.
 */
export function jitterSeconds(uid: string, scheduledTime: Date, maxJitterSeconds: number): number {
  if (maxJitterSeconds <= 0) return 0;
  const digest = createHash('sha256').update(`${uid}\0${scheduledTime.toISOString()}`).digest();
  return digest.readUInt32BE(0) % (maxJitterSeconds + 1);
}

/** Whether `timeZone` is an IANA zone name as Go's time.LoadLocation spells it (case included); else why not. */
export function timeZoneProblem(timeZone: string): string | undefined {
  if (!/^[A-Za-z]/.test(timeZone)) return 'must be an IANA time zone name such as Europe/Berlin, not an offset';
  let resolved: string;
  try {
    resolved = new Intl.DateTimeFormat('en-US', { timeZone }).resolvedOptions().timeZone;
  } catch {
    return 'unknown time zone (expected an IANA name such as Europe/Berlin or UTC)';
  }
  if (resolved !== timeZone && !Intl.supportedValuesOf('timeZone').includes(timeZone)) {
    if (resolved.toLowerCase() === timeZone.toLowerCase()) return `unknown time zone (did you mean ${resolved}?)`;
  }
  return undefined;
}
