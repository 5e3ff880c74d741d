/**
 * Command-line options of the benchmark scripts, and how they end: a bad option is one line naming
 * the flag, the value and what is allowed (exit 2), not a stack trace.
 */
import { UserError } from '../contract/user-error';
import { EMULATOR_PLACEMENTS, type EmulatorPlacement } from '../local/pipeline';

/** A benchmark's option is wrong; its message is all the user needs. */
export class BenchOptionError extends Error {
  public override readonly name = 'BenchOptionError';
}

/** `value` as a positive number, `fallback` when absent. */
export function positiveNumber(flag: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const parsed = Number(value);
  if (!Number.isFinite(parsed) || parsed <= 0) {
    throw new BenchOptionError(`${flag}: got ${JSON.stringify(value)}; must be a positive number`);
  }
  return parsed;
}

/** `--emulators`: where the pipeline runs them, `child` (as `sluice local`) when absent. */
export function emulatorPlacement(value: string | undefined): EmulatorPlacement {
  if (value === undefined) return 'child';
  if (!(EMULATOR_PLACEMENTS as readonly string[]).includes(value)) {
    throw new BenchOptionError(
      `--emulators: got ${JSON.stringify(value)}; must be ${EMULATOR_PLACEMENTS.join(' or ')}`,
    );
  }
  return value as EmulatorPlacement;
}

/**
 * parseArgs' own errors (an unknown flag, a missing value) are option errors too, and so is a user
 * error (`UserError`: a config given with `--config` that does not exist or does not validate).
 */
function isOptionError(error: unknown): error is Error {
  if (error instanceof BenchOptionError || error instanceof UserError) return true;
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS_');
}

/**
 * Runs a benchmark's `main`: exits with the code it returns (if any); a bad option or config prints
 * its message and exits 2; any other error prints with its stack and exits `errorExitCode`.
 */
export function runBench(main: () => Promise<number | void>, errorExitCode = 1): void {
  main().then(
    (code) => {
      if (typeof code === 'number') process.exit(code);
    },
    (error: unknown) => {
      if (isOptionError(error)) {
        console.error(error.message);
        process.exit(2);
      }
      console.error(error);
      process.exit(errorExitCode);
    },
  );
}
