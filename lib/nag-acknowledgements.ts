/**
 * Helpers to acknowledge cdk-nag findings on one resource, with the exact finding id cdk-nag
 * reports. Acknowledgements live next to the resource they concern (in its construct) so the reason
 * sits beside the decision; nothing is acknowledged stack-wide.
 */
import { Stack, Validations } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';

type CfnReference =
  | string
  | { readonly Ref: string }
  | { readonly 'Fn::GetAtt': readonly [string, string] }
  | { readonly 'Fn::Join': readonly [string, readonly CfnReference[]] };

/** Renders a resolved CloudFormation reference the way cdk-nag names it in `IAM5[Resource::...]` findings. */
function flatten(reference: CfnReference): string {
  if (typeof reference === 'string') return reference;
  if ('Ref' in reference) return `<${reference.Ref}>`;
  if ('Fn::GetAtt' in reference) return `<${reference['Fn::GetAtt'][0]}.${reference['Fn::GetAtt'][1]}>`;
  const [delimiter, parts] = reference['Fn::Join'];
  return parts.map(flatten).join(delimiter);
}

/** The `Resource::...` part of an IAM5 finding for a resource ARN (a token or a literal). */
export function wildcardResourceFinding(scope: IConstruct, arn: string): string {
  return `Resource::${flatten(Stack.of(scope).resolve(arn) as CfnReference)}`;
}

/**
 * Acknowledges specific `AwsSolutions-IAM5[...]` findings (wildcards) on one policy resource.
 * `findings` are the parts in brackets, e.g. `Action::kms:GenerateDataKey*`.
 */
export function acknowledgeWildcards(policy: IConstruct, findings: Readonly<Record<string, string>>): void {
  for (const [finding, reason] of Object.entries(findings)) {
    Validations.of(policy).acknowledge({ id: `AwsSolutions-IAM5[${finding}]`, reason });
  }
}
