import { BenchOptionError, emulatorPlacement, positiveNumber } from '../../../bench/options';

describe('benchmark options', () => {
  test('a positive number is read, and an absent one is the fallback', () => {
    expect([positiveNumber('--rate', '250', 1_000), positiveNumber('--rate', undefined, 1_000)]).toEqual([
      250, 1_000,
    ]);
  });

  test.each(['0', '-3', 'abc', ''])(
    '%j is not a positive number: one line naming the flag and the value',
    (value) => {
      expect(() => positiveNumber('--rate', value, 1)).toThrow(BenchOptionError);
      expect(() => positiveNumber('--rate', value, 1)).toThrow(
        `--rate: got ${JSON.stringify(value)}; must be a positive number`,
      );
    },
  );

  test('--emulators is child when absent, and takes only the placements the pipeline knows', () => {
    expect([emulatorPlacement(undefined), emulatorPlacement('in-process')]).toEqual(['child', 'in-process']);
    expect(() => emulatorPlacement('remote')).toThrow(
      new BenchOptionError('--emulators: got "remote"; must be child or in-process'),
    );
  });
});
