/**
 * Builds Sluice the way `bin/sluice.ts` does (same feature flags from cdk.json, same cdk-nag
 * plugin) but without bundling the Lambda code, which keeps infra tests fast and offline.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { App, type CfnElement, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import type { IConstruct } from 'constructs';
import { resolveConfig, type SluiceConfig } from '../../contract/config';
import { addSluice } from '../../lib/sluice-app';
import type { SluiceStack } from '../../lib/sluice-stack';

const CDK_JSON = path.join(__dirname, '..', '..', 'cdk.json');

/** The context `cdk synth` gives the app (cdk.json feature flags), with bundling switched off. */
export function appContext(): Record<string, unknown> {
  const cdkJson = JSON.parse(fs.readFileSync(CDK_JSON, 'utf8')) as { context: Record<string, unknown> };
  return { ...cdkJson.context, 'aws:cdk:bundling-stacks': [] };
}

export function newApp(): App {
  return new App({ context: appContext() });
}

/** A bare stack with the app's feature flags, for testing one construct on its own. */
export function newStack(): Stack {
  return new Stack(newApp(), 'Test');
}

export interface SynthesizedSluice {
  readonly app: App;
  readonly stack: SluiceStack;
  readonly config: SluiceConfig;
  readonly template: Template;
}

/** Synthesizes the whole Sluice app from a partial config (merged over the defaults, validated). */
export function synthSluice(partialConfig: object = {}): SynthesizedSluice {
  const app = newApp();
  const config = resolveConfig(partialConfig);
  const stack = addSluice(app, config);
  return { app, stack, config, template: Template.fromStack(stack) };
}

/** The logical id of a construct's CloudFormation resource. */
export function logicalId(construct: IConstruct): string {
  const element = (construct.node.defaultChild ?? construct) as CfnElement;
  return Stack.of(element).getLogicalId(element);
}
