/**
 * Every state machine Sluice deploys passes asl-validator (the Amazon States Language JSON schemas,
 * JSONata syntax and transition checks), validated exactly as synthesized: the definition's
 * CloudFormation references are filled in with placeholder names and ARNs, nothing else changes.
 * (The batch job renders its JSONata on one line for this: see `oneLine` in lib/batch-job.ts.)
 */
import validateAsl from 'asl-validator';
import { type CfnContext, resolveJsonText } from './cfn-values';
import { synthSluice } from './synth';

interface Definition {
  StartAt: string;
  States: Record<string, { Type: string; Next?: string; Choices?: Array<{ Condition?: string }> }>;
}

const { stack, template } = synthSluice();
const context: CfnContext = { stackName: stack.stackName, template };
const machines = Object.entries(template.findResources('AWS::StepFunctions::StateMachine'));

/** A fresh copy of the deployed definition (the validator writes defaults into what it is given). */
function definitionOf(logicalId: string): Definition {
  const [, machine] = machines.find(([id]) => id === logicalId)!;
  return resolveJsonText(machine.Properties.DefinitionString, context) as Definition;
}

describe('state machine definitions', () => {
  test('include the batch job', () => {
    expect(machines.map(([id]) => id)).toContainEqual(expect.stringMatching(/^BatchJobStateMachine/));
  });

  test.each(machines.map(([id]) => id))('%s passes asl-validator', (logicalId) => {
    const result = validateAsl(definitionOf(logicalId));

    expect(result.errorsText('\n')).toBe('');
    expect(result.isValid).toBe(true);
  });
});

describe('asl-validator (negative controls: the check above can fail)', () => {
  const [logicalId] = machines.find(([id]) => id.startsWith('BatchJobStateMachine'))!;

  test('rejects the definition with a transition to a state that does not exist', () => {
    const definition = definitionOf(logicalId);
    const first = definition.States[definition.StartAt];
    first.Choices![0] = { ...first.Choices![0], Next: 'NoSuchState' } as { Condition?: string };

    const result = validateAsl(definition);

    expect(result.isValid).toBe(false);
    expect(result.errorsText()).toMatch(/NoSuchState/);
  });

  test('rejects a JSONata expression that does not parse', () => {
    const definition = definitionOf(logicalId);
    const first = definition.States[definition.StartAt];
    first.Choices![0].Condition = '{% $states.input.day = ( %}';

    expect(validateAsl(definition).isValid).toBe(false);
  });

  test('rejects a line break inside {% %}, which Step Functions accepts: why lib/batch-job.ts renders JSONata on one line', () => {
    const definition = definitionOf(logicalId);
    const first = definition.States[definition.StartAt];
    const condition = first.Choices![0].Condition!;
    first.Choices![0].Condition = condition.replace(' and ', '\nand ');

    const result = validateAsl(definition);

    expect(condition).toContain(' and ');
    expect(result.isValid).toBe(false);
    expect(result.errorsText()).toMatch(/must match pattern/);
  });
});
