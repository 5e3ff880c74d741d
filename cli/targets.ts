/**
 * Which pipeline a command talks to. With `--local`, the running `sluice local` of the state
 * directory (cli/session.ts). Otherwise AWS: names come from flags, else from environment variables,
 * else from the outputs file `cdk deploy --outputs-file cdk-outputs.json` writes (the stack
 * `Sluice-<stage>`, stage from the config).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Option } from 'commander';
import { loadConfig } from '../contract/config';
import { UserError } from '../contract/user-error';
import { DEFAULT_STATE_DIR } from './session';

export const DEFAULT_OUTPUTS_FILE = 'cdk-outputs.json';

/** Options shared by every command that can target AWS or local mode. */
export interface TargetOptions {
  readonly local?: boolean;
  readonly state: string;
  readonly config?: string;
  readonly region?: string;
  readonly outputs?: string;
}

export function targetOptions(): Option[] {
  return [
    new Option('--local', 'target the running `sluice local` instead of AWS'),
    new Option('--state <dir>', 'state directory of the local mode (with --local)').default(
      DEFAULT_STATE_DIR,
    ),
    new Option('-c, --config <file>', 'Sluice config file (its stage picks the stack Sluice-<stage>)'),
    new Option('--region <region>', 'AWS region (default: the SDK default chain, e.g. AWS_REGION)'),
    new Option(
      '--outputs <file>',
      `stack outputs written by \`cdk deploy --outputs-file\` (default: ${DEFAULT_OUTPUTS_FILE} when present)`,
    ),
  ];
}

/** The outputs of stack `Sluice-<stage>` from the outputs file, or `{}` when there is no file. */
export function readStackOutputs(options: TargetOptions, cwd = process.cwd()): Record<string, string> {
  const explicit = options.outputs !== undefined;
  const file = path.resolve(cwd, options.outputs ?? DEFAULT_OUTPUTS_FILE);
  if (!fs.existsSync(file)) {
    if (explicit) throw new UserError(`--outputs ${file}: the file does not exist`);
    return {};
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (error) {
    throw new UserError(`${file} is not valid JSON: ${(error as Error).message}`);
  }
  const stack = `Sluice-${loadConfig(options.config, cwd).stage}`;
  const outputs = (parsed as Record<string, unknown>)[stack];
  if (typeof outputs !== 'object' || outputs === null) {
    if (explicit) throw new UserError(`${file} has no outputs for stack ${stack}`);
    return {};
  }
  return Object.fromEntries(Object.entries(outputs).filter(([, v]) => typeof v === 'string')) as Record<
    string,
    string
  >;
}

export interface NamedSetting {
  /** The flag that sets it, e.g. `--stream`. */
  readonly flag: string;
  readonly value?: string;
  readonly env: string;
  /** Stack output keys that hold it, most specific first; matched exactly, then as a pattern. */
  readonly outputKeys: readonly (string | RegExp)[];
  /** @default - required: missing is a user error */
  readonly fallback?: string;
}

/** A name for an AWS resource: the flag, the environment variable, the stack outputs, or the fallback. */
export function resolveSetting(setting: NamedSetting, outputs: Readonly<Record<string, string>>): string {
  if (setting.value) return setting.value;
  const fromEnv = process.env[setting.env];
  if (fromEnv) return fromEnv;
  for (const key of setting.outputKeys) {
    const found =
      typeof key === 'string' ? outputs[key] : Object.entries(outputs).find(([name]) => key.test(name))?.[1];
    if (found) return found;
  }
  if (setting.fallback !== undefined) return setting.fallback;
  throw new UserError(
    `${setting.flag} is needed: pass it, set ${setting.env}, or deploy with \`npx cdk deploy --outputs-file ${DEFAULT_OUTPUTS_FILE}\` so the stack outputs can be read`,
  );
}
