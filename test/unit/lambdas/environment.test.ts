import { MissingEnvironmentError, numberEnv, requiredEnv } from '../../../lambdas/adapters/environment';
import { windowsEnv } from '../../../lambdas/adapters/windows-env';

afterEach(() => {
  delete process.env.SLUICE_TEST_VAR;
});

test('an unset variable fails naming the variable and the function', () => {
  expect(() => requiredEnv('SLUICE_TEST_VAR', 'the stream processor')).toThrow(
    new MissingEnvironmentError(
      'Environment variable SLUICE_TEST_VAR is not set; the stream processor cannot start',
    ),
  );
});

test('a set variable is returned as it is', () => {
  process.env.SLUICE_TEST_VAR = 'table-1';
  expect(requiredEnv('SLUICE_TEST_VAR', 'x')).toBe('table-1');
});

test('a number variable that is not a number fails naming the value', () => {
  process.env.SLUICE_TEST_VAR = '12ms';
  expect(() => numberEnv('SLUICE_TEST_VAR', 'x')).toThrow(/SLUICE_TEST_VAR is not a number: 12ms/);
});

test('a number variable is parsed', () => {
  process.env.SLUICE_TEST_VAR = '86400000';
  expect(numberEnv('SLUICE_TEST_VAR', 'x')).toBe(86_400_000);
});

describe('the windows of SLUICE_WINDOWS', () => {
  afterEach(() => {
    delete process.env.SLUICE_WINDOWS;
  });

  test('are read as the configured windows', () => {
    process.env.SLUICE_WINDOWS = '[{"name":"1h","sizeMs":3600000,"hopMs":3600000}]';
    expect(windowsEnv('the speed export')).toEqual([{ name: '1h', sizeMs: 3_600_000, hopMs: 3_600_000 }]);
  });

  test.each(['[]', '[{"name":"1h","sizeMs":"1h","hopMs":3600000}]', 'not json'])(
    '%s fails naming the variable, its value and what it must be',
    (value) => {
      process.env.SLUICE_WINDOWS = value;
      expect(() => windowsEnv('x')).toThrow(
        new MissingEnvironmentError(
          `Environment variable SLUICE_WINDOWS is ${JSON.stringify(value)}; it must be a JSON list of windows {"name", "sizeMs", "hopMs"}`,
        ),
      );
    },
  );
});
