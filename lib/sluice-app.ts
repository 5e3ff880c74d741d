import { type App, Tags, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { SluiceConfig } from '../contract/config';
import { SluiceStack } from './sluice-stack';

/** The stack id of a stage: `Sluice-<stage>`. */
export function stackName(config: SluiceConfig): string {
  return `Sluice-${config.stage}`;
}

/**
 * Adds one Sluice deployment to `app` and checks the whole app with cdk-nag's AwsSolutions pack at
 * synth (a finding that is not acknowledged on its resource fails the synth). `bin/sluice.ts` and
 * the infrastructure tests build the app through this function, so the tests check what deploys.
 */
export function addSluice(app: App, config: SluiceConfig): SluiceStack {
  const stack = new SluiceStack(app, stackName(config), { config });
  Tags.of(stack).add('project', 'sluice');
  Tags.of(stack).add('sluice:stage', config.stage);
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  return stack;
}
