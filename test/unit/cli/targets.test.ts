import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { UserError } from '../../../contract/user-error';
import { readStackOutputs, resolveSetting } from '../../../cli/targets';

const setting = { flag: '--stream', env: 'SLUICE_TEST_STREAM', outputKeys: ['StreamName', /WorkGroup/i] };
const outputs = { StreamName: 'from-outputs', AnalyticsWorkGroupName: 'wg' };

afterEach(() => {
  delete process.env.SLUICE_TEST_STREAM;
});

test('a flag wins over the environment and the stack outputs', () => {
  process.env.SLUICE_TEST_STREAM = 'from-env';
  expect(resolveSetting({ ...setting, value: 'from-flag' }, outputs)).toBe('from-flag');
});

test('the environment wins over the stack outputs', () => {
  process.env.SLUICE_TEST_STREAM = 'from-env';
  expect(resolveSetting(setting, outputs)).toBe('from-env');
});

test('stack outputs are matched by exact key, then by pattern', () => {
  expect(resolveSetting(setting, outputs)).toBe('from-outputs');
  expect(resolveSetting(setting, { AnalyticsWorkGroupName: 'wg' })).toBe('wg');
});

test('the fallback applies when nothing names the resource', () => {
  expect(resolveSetting({ ...setting, fallback: 'sluice' }, {})).toBe('sluice');
});

test('a missing required name is a user error that says where names come from', () => {
  expect(() => resolveSetting(setting, {})).toThrow(UserError);
  expect(() => resolveSetting(setting, {})).toThrow(
    /--stream is needed: pass it, set SLUICE_TEST_STREAM, or deploy with/,
  );
});

test('stack outputs are read for the stack of the config stage', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sluice-targets-'));
  fs.writeFileSync(
    path.join(dir, 'cdk-outputs.json'),
    JSON.stringify({
      'Sluice-dev': { StreamName: 'dev-stream' },
      'Sluice-prod': { StreamName: 'prod-stream' },
    }),
  );
  fs.writeFileSync(path.join(dir, 'prod.json'), JSON.stringify({ stage: 'prod' }));
  expect(readStackOutputs({ state: '.sluice' }, dir)).toEqual({ StreamName: 'dev-stream' });
  expect(readStackOutputs({ state: '.sluice', config: 'prod.json' }, dir)).toEqual({
    StreamName: 'prod-stream',
  });
  fs.rmSync(dir, { recursive: true, force: true });
});

test('no outputs file means no outputs, unless one was asked for', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sluice-targets-'));
  expect(readStackOutputs({ state: '.sluice' }, dir)).toEqual({});
  expect(() => readStackOutputs({ state: '.sluice', outputs: 'missing.json' }, dir)).toThrow(
    /does not exist/,
  );
  fs.rmSync(dir, { recursive: true, force: true });
});
