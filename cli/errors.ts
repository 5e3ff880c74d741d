/**
 * How the `sluice` command reports failure: a user's mistake (a bad flag value, a missing file, no
 * local Sluice running, AWS saying no) is one line on stderr and exit code 1; anything else is a bug
 * and exits 2, with the stack only when `SLUICE_DEBUG` is set.
 */
import { ConfigError } from '../contract/config';
import { UserError } from '../contract/user-error';

/** A user error whose fix is on the command line (printed with a pointer to `--help`). */
export class UsageError extends UserError {
  public override readonly name = 'UsageError';
}

export interface ErrorReport {
  /** One line, no trailing newline. */
  readonly message: string;
  readonly exitCode: 1 | 2;
  /** The stack, for unexpected errors only. */
  readonly stack?: string;
}

/** AWS SDK service errors carry `$metadata`; their message is written for the caller. */
function isAwsServiceError(error: Error): boolean {
  return typeof (error as { $metadata?: unknown }).$metadata === 'object';
}

function oneLine(text: string): string {
  return text
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line.length > 0)
    .join(' ');
}

/** Classifies an error thrown by a command into what the user sees. */
export function reportError(error: unknown): ErrorReport {
  if (error instanceof ConfigError) {
    return {
      message: oneLine(error.message.replace(/:\n {2}- /, ': ').replace(/\n {2}- /g, '; ')),
      exitCode: 1,
    };
  }
  if (error instanceof Error) {
    // The AWS SDK's own error (from @smithy/property-provider, not ours to extend): recognised by name.
    if (error.name === 'CredentialsProviderError') {
      return {
        message: `no AWS credentials found (${oneLine(error.message)}); configure them (e.g. AWS_PROFILE) or target local mode with --local`,
        exitCode: 1,
      };
    }
    // The SDK's own message for a client with no region configured (no AWS_REGION, no profile region).
    if (error.message === 'Region is missing') {
      return {
        message:
          'no AWS region configured: set AWS_REGION (or a profile region), pass --region, or target local mode with --local',
        exitCode: 1,
      };
    }
    if (error instanceof UserError) return { message: oneLine(error.message), exitCode: 1 };
    if (isAwsServiceError(error))
      return { message: `AWS ${error.name}: ${oneLine(error.message)}`, exitCode: 1 };
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ECONNREFUSED')
      return { message: `could not connect: ${oneLine(error.message)}`, exitCode: 1 };
    return {
      message: `unexpected error: ${error.name}: ${oneLine(error.message)} (set SLUICE_DEBUG=1 for the stack trace)`,
      exitCode: 2,
      stack: error.stack,
    };
  }
  return { message: `unexpected error: ${String(error)}`, exitCode: 2 };
}

/** Writes the report of `error` to stderr and returns the exit code. */
export function printError(error: unknown, stderr: NodeJS.WritableStream = process.stderr): number {
  const report = reportError(error);
  stderr.write(`sluice: ${report.message}\n`);
  if (report.stack && process.env.SLUICE_DEBUG) stderr.write(`${report.stack}\n`);
  return report.exitCode;
}
