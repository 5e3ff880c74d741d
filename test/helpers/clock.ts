/**
 * Processing clocks for tests that pin `now`. A pinned clock must stay near the wall clock: DynamoDB
 * (and DynamoDB Local) expire an item once its `expiresAt` (the handler's `now` plus the 7-day
 * aggregate TTL) passes the *wall* clock, so a clock pinned to a fixed date expires what the test
 * writes as soon as that date is a week old. dynalite has no TTL and hid this.
 */
const DAY_MS = 86_400_000;
const NOON_MS = 12 * 3_600_000;

/**
 * The last 12:00 UTC at or before `wallClock`: at most a day old, so a 7-day TTL set from it is
 * still six days ahead of the wall clock, and always noon, so tests keep the same distance from
 * window edges (minute, hour and day boundaries) whatever day they run.
 */
export function recentNoon(wallClock: number = Date.now()): number {
  const noon = Math.floor(wallClock / DAY_MS) * DAY_MS + NOON_MS;
  return noon <= wallClock ? noon : noon - DAY_MS;
}
