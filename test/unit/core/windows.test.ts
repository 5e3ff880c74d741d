import fc from 'fast-check';
import { latestWindowStart, windowsCovering } from '../../../core/windows';

const MINUTE = 60_000;
const tumbling = { name: '1m', sizeMs: MINUTE, hopMs: MINUTE };
const hopping = { name: '5m', sizeMs: 5 * MINUTE, hopMs: MINUTE };

describe('latestWindowStart', () => {
  test('is the hop boundary at or before the event time', () => {
    expect(latestWindowStart(Date.parse('2026-11-21T10:07:42Z'), hopping)).toBe(
      Date.parse('2026-11-21T10:07:00Z'),
    );
    expect(latestWindowStart(Date.parse('2026-11-21T10:07:00Z'), hopping)).toBe(
      Date.parse('2026-11-21T10:07:00Z'),
    );
  });
});

describe('windowsCovering', () => {
  test('a tumbling window yields the one epoch-aligned window that holds the event', () => {
    const t = Date.parse('2026-11-21T10:07:42.123Z');
    expect(windowsCovering(t, tumbling)).toEqual([
      { window: '1m', start: Date.parse('2026-11-21T10:07:00Z'), end: Date.parse('2026-11-21T10:08:00Z') },
    ]);
  });

  test('a hopping window yields size/hop windows, earliest first', () => {
    const t = Date.parse('2026-11-21T10:07:42Z');
    expect(windowsCovering(t, hopping).map((w) => new Date(w.start).toISOString())).toEqual([
      '2026-11-21T10:03:00.000Z',
      '2026-11-21T10:04:00.000Z',
      '2026-11-21T10:05:00.000Z',
      '2026-11-21T10:06:00.000Z',
      '2026-11-21T10:07:00.000Z',
    ]);
  });

  test('an event exactly on a boundary starts a window and is excluded from the one ending there', () => {
    const t = Date.parse('2026-11-21T10:08:00Z');
    expect(windowsCovering(t, tumbling)[0].start).toBe(t);
  });

  test('every window returned covers the event, and every covering aligned window is returned', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 4_102_444_800_000 }),
        fc.constantFrom(1, 2, 3, 4, 5, 6, 10, 12, 60),
        fc.integer({ min: 1, max: 600 }).map((s) => s * 1000),
        (t, ratio, hopMs) => {
          const spec = { name: 'w', sizeMs: hopMs * ratio, hopMs };
          const windows = windowsCovering(t, spec);
          const covers = windows.every((w) => w.start <= t && t < w.end && w.start % hopMs === 0);
          const distinct = new Set(windows.map((w) => w.start)).size === ratio;
          return covers && distinct && windows.length === ratio;
        },
      ),
    );
  });
});
