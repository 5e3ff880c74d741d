/**
 * The one way Sluice builds a Lambda function: Node.js on ARM64, bundled by the local esbuild (no
 * Docker, offline), AWS SDK and Powertools included, source maps on, a log group with finite
 * retention, and an own role that may write only to that log group. The stream processor and the
 * reconciliation function differ only in what they pass here.
 */
import * as path from 'node:path';
import { type Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';

const PROJECT_ROOT = path.join(__dirname, '..');

/** Newest Node.js runtime in aws-cdk-lib 2.276; `target` below must match it. */
export const FUNCTION_RUNTIME = lambda.Runtime.NODEJS_24_X;

export interface BundledFunctionProps {
  /** Absolute path of the handler module (exporting `handler`). */
  readonly entry: string;
  readonly description: string;
  /** What the function's role is for, shown in IAM. */
  readonly roleDescription: string;
  /** 128–10240 MiB, validated by the caller. */
  readonly memorySize: number;
  readonly timeout: Duration;
  /** The function's own variables; `NODE_OPTIONS` for source maps is added. */
  readonly environment: Readonly<Record<string, string>>;
  /** @default logs.RetentionDays.ONE_MONTH */
  readonly logRetention?: logs.RetentionDays;
  /** @default lambda.Tracing.DISABLED */
  readonly tracing?: lambda.Tracing;
}

export interface BundledFunction {
  readonly function: nodejs.NodejsFunction;
  readonly role: iam.Role;
  readonly logGroup: logs.LogGroup;
}

/**
 * Adds `LogGroup`, `Role` and `Function` to `scope` (those construct ids are part of the deployed
 * contract: renaming them replaces the resources).
 */
export function addBundledFunction(scope: Construct, props: BundledFunctionProps): BundledFunction {
  const logGroup = new logs.LogGroup(scope, 'LogGroup', {
    retention: props.logRetention ?? logs.RetentionDays.ONE_MONTH,
    removalPolicy: RemovalPolicy.RETAIN,
  });
  // An own role instead of the AWSLambdaBasicExecutionRole managed policy, whose logs:* grants
  // cover every log group in the account; this one may write only to the function's log group.
  const role = new iam.Role(scope, 'Role', {
    assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
    description: props.roleDescription,
  });
  logGroup.grantWrite(role);

  const fn = new nodejs.NodejsFunction(scope, 'Function', {
    entry: props.entry,
    handler: 'handler',
    projectRoot: PROJECT_ROOT,
    depsLockFilePath: path.join(PROJECT_ROOT, 'package-lock.json'),
    runtime: FUNCTION_RUNTIME,
    architecture: lambda.Architecture.ARM_64,
    memorySize: props.memorySize,
    timeout: props.timeout,
    role,
    logGroup,
    tracing: props.tracing ?? lambda.Tracing.DISABLED,
    description: props.description,
    environment: {
      ...props.environment,
      // Stack traces in the logs point at the TypeScript sources (the bundle ships its source map).
      NODE_OPTIONS: '--enable-source-maps',
    },
    bundling: {
      // Everything, AWS SDK and Powertools included, is bundled: the deployed code runs the exact
      // versions the tests ran, whatever the runtime happens to ship.
      externalModules: [],
      format: nodejs.OutputFormat.CJS,
      target: 'node24',
      minify: true,
      sourceMap: true,
      sourcesContent: false,
      // The local esbuild (a devDependency): synth works offline and never falls back to Docker.
      forceDockerBundling: false,
      logLevel: nodejs.LogLevel.WARNING,
    },
  });
  return { function: fn, role, logGroup };
}
