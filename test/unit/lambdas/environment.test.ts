import { MissingEnvironmentError, numberEnv, requiredEnv } from '../../../lambdas/adapters/environment';

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
