/**
 * Delivery retry schedule (Svix's, which receivers already know): immediately, 5 s, 5 min, 30 min,
 * 2 h, 5 h, 10 h, 10 h, each with +-20% jitter so a recovering receiver is not hit by a herd.
 */
export const DEFAULT_DELIVERY_SCHEDULE_MS: readonly number[] = [
  0,
  5_000,
  5 * 60_000,
  30 * 60_000,
  2 * 3_600_000,
  5 * 3_600_000,
  10 * 3_600_000,
  10 * 3_600_000,
];

/** Delay before attempt number `attempt + 1` (attempts made so far: `attempt`), or null when the schedule is spent. */
export function nextDelayMs(
  schedule: readonly number[],
  attemptsMade: number,
  random: () => number = Math.random,
): number | null {
  const base = schedule[attemptsMade];
  if (base === undefined) return null;
  const jitter = 1 + (random() * 2 - 1) * 0.2;
  return Math.round(base * jitter);
}
