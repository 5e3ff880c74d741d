import { EmulatorProcessExitError, failureLine } from '../../../local/emulators/process';

// What Node writes for an uncaught error in the emulator process.
const CRASH = [
  '/work/node_modules/dynalite/index.js:42',
  '    throw new Error(boom)',
  '    ^',
  '',
  'Error: LevelDB could not open /tmp/x: lock held',
  '    at open (/work/node_modules/dynalite/db.js:10:11)',
  '    at main (/work/local/emulators/main.ts:60:3)',
  '',
  'Node.js v20.20.2',
  '',
].join('\n');

describe('emulator process errors', () => {
  test('the failure line of a crash is its error message, not a stack frame or the Node banner', () => {
    expect(failureLine(CRASH)).toBe('Error: LevelDB could not open /tmp/x: lock held');
  });

  test('without an error message the failure line is the last line written', () => {
    expect(failureLine('starting kinesalite\nport 4567 in use, giving up\n')).toBe(
      'port 4567 in use, giving up',
    );
  });

  test('an exit error is one line naming the exit and the failure, and keeps the whole stderr', () => {
    const error = new EmulatorProcessExitError(1, null, CRASH, ' before it was ready');

    expect(error.message).toBe(
      'the emulator process exited (code 1, signal null) before it was ready: Error: LevelDB could not open /tmp/x: lock held',
    );
    expect(error.stderr).toBe(CRASH);
  });

  test('an exit with nothing on stderr names only the exit', () => {
    expect(new EmulatorProcessExitError(null, 'SIGKILL', '').message).toBe(
      'the emulator process exited (code null, signal SIGKILL)',
    );
  });
});
