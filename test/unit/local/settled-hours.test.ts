import { RUNNING_SETTLE_MARGIN_MS, settledBeforeOf } from '../../../local/reconcile';

const STARTED = Date.parse('2026-11-20T10:05:00Z');

describe('settledBeforeOf', () => {
  test('after a run that saw everything landed, every hour is settled', () => {
    expect(settledBeforeOf({ startedAt: STARTED, allLanded: true }, 60_000)).toBeUndefined();
  });

  test('while records flow, hours must end the Firehose interval plus the margin before the run', () => {
    expect(settledBeforeOf({ startedAt: STARTED, allLanded: false }, 60_000)).toBe(
      STARTED - 60_000 - RUNNING_SETTLE_MARGIN_MS,
    );
  });

  test('the default margin is two minutes', () => {
    expect(settledBeforeOf({ startedAt: STARTED, allLanded: false }, 0)).toBe(STARTED - 120_000);
  });

  test('a given margin replaces the default', () => {
    expect(settledBeforeOf({ startedAt: STARTED, allLanded: false }, 0, 5_000)).toBe(STARTED - 5_000);
  });
});
