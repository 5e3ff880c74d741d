/**
 * The `sluice` command. Each subcommand lives in its own file; this one wires them together and
 * turns failures into one line on stderr and a non-zero exit code (see errors.ts).
 */
import { Command, CommanderError } from 'commander';
import { printError } from './errors';
import { aggregatesCommand } from './aggregates';
import { backfillCommand } from './backfill';
import { localCommand } from './local';
import { produceCommand } from './produce';
import { queryCommand } from './query';
import { repairCommand } from './repair';

export function buildProgram(): Command {
  const program = new Command('sluice')
    .description('Sluice: a serverless batch-and-stream sensor pipeline on AWS, with a full local mode')
    .version(readVersion(), '-V, --version')
    .showHelpAfterError('(run with --help for usage)')
    .configureOutput({ outputError: (text, write) => write(`sluice: ${text.replace(/^error: /, '')}`) })
    .exitOverride();
  for (const command of [
    localCommand(),
    produceCommand(),
    queryCommand(),
    backfillCommand(),
    aggregatesCommand(),
    repairCommand(),
  ]) {
    program.addCommand(
      command
        .exitOverride()
        .showHelpAfterError('(run with --help for usage)')
        .configureOutput({
          outputError: (text, write) => write(`sluice ${command.name()}: ${text.replace(/^error: /, '')}`),
        }),
    );
  }
  return program;
}

function readVersion(): string {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return (require('../package.json') as { version: string }).version;
}

/** Runs the command line; resolves with the exit code. */
export async function main(argv: readonly string[] = process.argv): Promise<number> {
  try {
    await buildProgram().parseAsync([...argv]);
    return 0;
  } catch (error) {
    // Commander has already printed its own (one-line) message.
    if (error instanceof CommanderError) return error.exitCode;
    return printError(error);
  }
}

/** Entry point of `cli/bin.cjs`: runs and exits with the command's code. */
export function run(): void {
  void main().then((code) => {
    process.exitCode = code;
    // Sockets of emulators that did not close must not keep a finished command alive.
    setTimeout(() => process.exit(code), 2_000).unref();
  });
}
