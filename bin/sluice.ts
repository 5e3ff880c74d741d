#!/usr/bin/env node
/**
 * CDK app entry: `npx cdk synth [-c config=PATH]`. The config file defaults to `sluice.config.json`
 * in the working directory; without it every default applies. An invalid config stops the synth
 * with one line per problem (field, value given, what is allowed) and a non-zero exit code.
 */
import { App } from 'aws-cdk-lib';
import { ConfigError, loadConfig, type SluiceConfig } from '../contract/config';
import { addSluice } from '../lib/sluice-app';
import { SluicePropsError } from '../lib/validation';

function readConfig(app: App): SluiceConfig {
  const file: unknown = app.node.tryGetContext('config');
  if (file !== undefined && (typeof file !== 'string' || file === '')) {
    throw new ConfigError([`context "config": got ${JSON.stringify(file)}; must be a file path`], 'config');
  }
  return loadConfig(file);
}

const app = new App();
try {
  addSluice(app, readConfig(app));
} catch (error) {
  // Both are a user's setting that cannot be deployed: say which, without a stack trace.
  if (!(error instanceof ConfigError || error instanceof SluicePropsError)) throw error;
  process.stderr.write(`${error.message}\n`);
  process.exit(1);
}
