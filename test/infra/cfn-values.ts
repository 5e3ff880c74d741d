/**
 * Resolves the CloudFormation values of a synthesized template into the concrete values they take
 * once deployed, with placeholders: pseudo parameters get one fixed account and region (every stack
 * is deployed into the same one), and a resource's `Ref` or `Fn::GetAtt` a name or ARN made of its
 * stack name and logical id, so two stacks never share one, as their physical resources don't.
 * Any other intrinsic function throws: nothing is left unresolved by accident.
 */
import type { Template } from 'aws-cdk-lib/assertions';

export const PLACEHOLDER_ACCOUNT = '123456789012';
export const PLACEHOLDER_REGION = 'eu-west-1';

const PSEUDO_PARAMETERS: Readonly<Record<string, string>> = {
  'AWS::AccountId': PLACEHOLDER_ACCOUNT,
  'AWS::Region': PLACEHOLDER_REGION,
  'AWS::Partition': 'aws',
  'AWS::URLSuffix': 'amazonaws.com',
};

/** Resource types whose `Ref` is an ARN rather than a name. */
const REF_IS_ARN = new Set(['AWS::SNS::Topic', 'AWS::StepFunctions::StateMachine']);

/** ARN service names that differ from the CloudFormation type's service part. */
const ARN_SERVICE: Readonly<Record<string, string>> = { StepFunctions: 'states', Logs: 'logs' };

export interface CfnContext {
  readonly stackName: string;
  readonly template: Template;
}

function resourceType(context: CfnContext, logicalId: string): string {
  const resource = (context.template.toJSON().Resources ?? {})[logicalId] as { Type: string } | undefined;
  if (!resource) throw new Error(`${context.stackName}: no resource ${logicalId}`);
  return resource.Type;
}

function physicalName(context: CfnContext, logicalId: string): string {
  return `${context.stackName}-${logicalId}`.toLowerCase();
}

function arn(context: CfnContext, logicalId: string): string {
  const service = resourceType(context, logicalId).split('::')[1];
  const arnService = ARN_SERVICE[service] ?? service.toLowerCase();
  return `arn:aws:${arnService}:${PLACEHOLDER_REGION}:${PLACEHOLDER_ACCOUNT}:${physicalName(context, logicalId)}`;
}

function resolveRef(context: CfnContext, name: string): string {
  if (name in PSEUDO_PARAMETERS) return PSEUDO_PARAMETERS[name];
  return REF_IS_ARN.has(resourceType(context, name)) ? arn(context, name) : physicalName(context, name);
}

function asString(value: unknown, where: string): string {
  if (typeof value !== 'string') throw new Error(`${where}: expected a string, got ${JSON.stringify(value)}`);
  return value;
}

/** `value` with every intrinsic function replaced by its placeholder value. */
export function resolveCfn(value: unknown, context: CfnContext): unknown {
  if (Array.isArray(value)) return value.map((v) => resolveCfn(v, context));
  if (value === null || typeof value !== 'object') return value;
  const entries = Object.entries(value);
  const [key, arg] = entries[0] ?? [];
  const intrinsic = entries.length === 1 && (key === 'Ref' || key.startsWith('Fn::'));
  if (!intrinsic) return Object.fromEntries(entries.map(([k, v]) => [k, resolveCfn(v, context)]));
  switch (key) {
    case 'Ref':
      return resolveRef(context, asString(arg, 'Ref'));
    case 'Fn::GetAtt': {
      const [logicalId, attribute] = arg as [string, string];
      return attribute === 'Arn'
        ? arn(context, logicalId)
        : `${physicalName(context, logicalId)}.${attribute.toLowerCase()}`;
    }
    case 'Fn::Join': {
      const [separator, parts] = arg as [string, unknown[]];
      return parts.map((p) => asString(resolveCfn(p, context), 'Fn::Join part')).join(separator);
    }
    case 'Fn::Select': {
      const [index, list] = arg as [number | string, unknown];
      return (resolveCfn(list, context) as unknown[])[Number(index)];
    }
    case 'Fn::Split': {
      const [separator, text] = arg as [string, unknown];
      return asString(resolveCfn(text, context), 'Fn::Split').split(separator);
    }
    default:
      throw new Error(`${context.stackName}: ${key} is not resolved by this helper`);
  }
}

/** A resource property that holds JSON text (a state machine definition, a dashboard body), parsed. */
export function resolveJsonText(value: unknown, context: CfnContext): unknown {
  return JSON.parse(asString(resolveCfn(value, context), 'JSON text'));
}
