/**
 * The speed-layer repair after a DynamoDB storm longer than the retry budget, in local mode: real
 * emulators over the wire, the local event source runner and the deployed handler under chaos,
 * then `repairFromQueues` (the deployed repair's code) on the on-failure queue, interrupted twice,
 * run to the end while live traffic writes the same items, and run once more. Each test compares
 * the end state with the independent recomputation of ALL records (test/helpers/recompute.ts).
 */
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { createLocalRepairPorts } from '../../local/speed-repair';
import { OnFailureQueue, type OnFailureMessage } from '../../lambdas/adapters/on-failure-queue';
import { toSpeedConfig } from '../../contract/config';
import {
  repairBatches,
  type RepairPorts,
  type RepairReport,
} from '../../lambdas/speed-repair/repair-batches';
import { repairFromQueues, type QueueRepairReport } from '../../lambdas/speed-repair/repair-queues';
import { check } from '../helpers/contract-oracle';
import { useEmulators } from '../helpers/emulators';
import {
  aggregateProblems,
  aggregatesOf,
  distinctAlerts,
  expectedOf,
  expectedQuarantineLines,
  faultTraffic,
  inRange,
  linesKept,
  NOW,
  quarantineLines,
  redriveExpectation,
  scanAll,
  startScenario,
  valueCooldownProblems,
  windowAlertProblems,
  VALUE_RULE,
  type Aggregate,
  type Observed,
  type Position,
  type Scenario,
} from '../helpers/fault-ledger';

const local = useEmulators();

class Interrupted extends Error {
  public override readonly name = 'Interrupted';
}

describe.each([
  { seed: 2, crashProbability: 0, redeliveryProbability: 0 },
  { seed: 7, crashProbability: 0.05, redeliveryProbability: 0.05 },
])('the repair after a storm past the retry budget (chaos seed $seed)', (chaosOptions) => {
  // A sensor that only reports first: the storm gives its records up and no later record touches
  // its windows; the others' windows are moved past by later records (the hard case).
  const lines = [
    // Half of it hot: the given-up records must raise value and window alerts when repaired.
    ...faultTraffic({ count: 10, sensors: 1, seed: 13, prefix: 'early', hotShare: 0.5 }),
    ...faultTraffic({ count: 400, sensors: 6, seed: 12, prefix: 'long' }),
  ];
  // Written to the same windows while the repair runs.
  const live = faultTraffic({ count: 150, sensors: 6, seed: 14, prefix: 'long', firstEvent: 10_000 });
  let scenario: Scenario;
  let positions: Position[];
  let givenUp: OnFailureMessage[];
  let beforeRepair: Map<string, Aggregate>;
  const interruptions: string[] = [];
  let liveConflicts = 0;
  let interrupted: QueueRepairReport;
  let completed: QueueRepairReport;
  let again: RepairReport;
  let afterFirst: Map<string, Aggregate>;
  let afterAgain: Map<string, Aggregate>;
  let observed: Observed;

  beforeAll(async () => {
    const { clients, emulators } = local();
    scenario = await startScenario({
      endpoints: emulators.endpoints,
      clients,
      stage: `repair-${chaosOptions.seed}`,
      chaos: {
        ...chaosOptions,
        throttleProbability: 0,
        // Every DynamoDB call fails for 120 invocations, some writes landing with their response lost.
        storms: [{ service: 'dynamodb', invocations: 120, unprocessedKeysShare: 0.2 }],
      },
      runner: { retryAttempts: 2 },
      preload: lines,
    });
    positions = [...scenario.preloaded];
    await scenario.drain();
    const { resources, config } = scenario;
    const queue = new OnFailureQueue({
      client: clients.sqs,
      queueUrl: resources.onFailureQueueUrl,
    });
    givenUp = await queue.peek(100);
    beforeRepair = aggregatesOf(await scanAll(clients, resources.tableName), toSpeedConfig(config).windows);

    const real = createLocalRepairPorts({ clients, resources, config });
    let writes = 0;
    let liveTraffic: Promise<void> | undefined;
    let interruptAfterWrites = Infinity;
    const ports: RepairPorts = {
      ...real,
      aggregates: {
        read: (keys) => real.aggregates.read(keys),
        replace: async (next, version) => {
          if (writes >= interruptAfterWrites)
            throw new Interrupted(`interrupted after ${writes} item writes`);
          if (interruptAfterWrites === Infinity) {
            // Live traffic lands on the same windows between the second run's reads and its writes
            // (every write of the run waits for it).
            liveTraffic ??= (async () => {
              positions.push(...(await scenario.put(live)));
              await scenario.drain();
            })();
            await liveTraffic;
          }
          try {
            const state = await real.aggregates.replace(next, version);
            writes += 1;
            return state;
          } catch (error) {
            if (error instanceof ConditionalCheckFailedException) liveConflicts += 1;
            throw error;
          }
        },
      },
    };
    const run = (onStep?: (step: string) => void) =>
      repairFromQueues([{ queue }], ports, {
        config: toSpeedConfig(config),
        nowMs: NOW,
        // The scenario's one processor runs every rule (local mode runs two, and names them).
        roleOfFunction: () => 'all',
        onStep,
      });

    // Interrupted in the middle of the item writes (every write after the third fails): the
    // batches of the items it could not write stay in the queue.
    interruptAfterWrites = 3;
    interrupted = await run();
    interruptAfterWrites = Infinity;
    interruptions.push(`${(await queue.peek(100)).length} messages left`);
    // Interrupted after the items, before the replay raised the alerts: nothing is deleted, and the
    // messages are handed on to the next run at once.
    const between = await run((step) => {
      if (step === 'items') throw new Interrupted('interrupted between the items and the replay');
    });
    interruptions.push(
      `${between.firstError?.message}: ${between.repaired} repaired, ${between.failed} failed`,
      `${(await queue.peek(100)).length} messages left`,
    );
    completed = await run();
    afterFirst = aggregatesOf(await scanAll(clients, resources.tableName), toSpeedConfig(config).windows);
    again = await repairBatches(
      givenUp.map((m) => m.batch!),
      real,
      { config: toSpeedConfig(config), nowMs: NOW, role: 'all' },
    );
    afterAgain = aggregatesOf(await scanAll(clients, resources.tableName), toSpeedConfig(config).windows);
    observed = await scenario.observe();
    await scenario.stop();
  });

  const allLines = () => [...lines, ...live];
  const documents = () =>
    givenUp.map((m) => ({ KinesisBatchInfo: m.batch! }) as Parameters<typeof linesKept>[2][number]);

  test('the storm gave batches up, and later records moved windows past them (a redrive would leave them short)', () => {
    expect(givenUp.length).toBeGreaterThan(0);
    expect(givenUp.every((m) => m.batch !== undefined)).toBe(true);
    const { short } = redriveExpectation(lines, positions.slice(0, lines.length), documents());
    expect(short).toBeGreaterThan(0);
    // Before the repair the aggregates lack records: they are not the recomputation of all lines.
    expect(aggregateProblems({ aggregates: beforeRepair }, expectedOf(lines, scenario.config))).not.toEqual(
      [],
    );
  });

  test('interrupted runs deleted only the messages of batches they repaired in full', () => {
    expect(interrupted.failed).toBeGreaterThan(0);
    expect(interrupted.firstError?.message).toMatch(/^interrupted after \d+ item writes$/);
    const left = givenUp.length - interrupted.repaired;
    expect(interruptions).toEqual([
      `${left} messages left`,
      `interrupted between the items and the replay: 0 repaired, ${left} failed`,
      `${left} messages left`,
    ]);
  });

  test('the runs repaired every given-up batch between them, against live writes to the same items', () => {
    expect(completed.failed).toBe(0);
    expect(interrupted.repaired + completed.repaired).toBe(givenUp.length);
    expect(completed.undecidable).toEqual([]);
    expect(liveConflicts).toBeGreaterThan(0);
    expect(observed.onFailure).toEqual([]);
  });

  test('every window item equals the recomputation of all records, live traffic included', () => {
    expect(aggregateProblems(observed, expectedOf(allLines(), scenario.config))).toEqual([]);
  });

  test('a second repair of the same batches writes nothing and changes nothing', () => {
    expect(again.batches.every((b) => b.status === 'repaired')).toBe(true);
    expect(again.itemsWritten).toBe(0);
    expect(again.alertsPublished).toBe(0);
    expect(afterAgain).toEqual(afterFirst);
  });

  test('the alerts of the given-up records were raised: every breach is covered, none pending', () => {
    const alerts = distinctAlerts(observed.deliveries);
    const { maxClockSkewMs, latenessMs } = toSpeedConfig(scenario.config);
    const givenUpBreaches = lines.filter((line, i) => {
      const verdict = check(line.text, NOW, maxClockSkewMs);
      const given = documents().some((d) => inRange(positions[i], d.KinesisBatchInfo));
      return (
        given &&
        verdict.ok &&
        verdict.event.eventTime >= NOW - latenessMs &&
        verdict.event.metric === 'temperature' &&
        verdict.event.value > VALUE_RULE.threshold
      );
    });

    expect(givenUpBreaches.length).toBeGreaterThan(0);
    expect(interrupted.alertsPublished + completed.alertsPublished).toBeGreaterThan(0);

    expect(valueCooldownProblems(alerts, allLines())).toEqual([]);
    expect(windowAlertProblems(alerts, expectedOf(allLines(), scenario.config))).toEqual([]);
    expect(observed.pendingAlertIds).toEqual([]);
  });

  test('the quarantine holds exactly the malformed records, given-up ones included', () => {
    expect(quarantineLines(observed.quarantine)).toEqual(
      expectedQuarantineLines(expectedOf(allLines(), scenario.config)),
    );
  });
});
