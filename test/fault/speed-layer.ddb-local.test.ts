/**
 * The speed layer under faults with its table on DynamoDB Local (AWS's own emulator: TTL, the 4 KB
 * expression and 400 KB item limits), Kinesis and SNS/SQS/S3 on the usual emulators: the parity
 * subset of the fault and integration suites. Between them the two scenarios make every DynamoDB
 * call of the stream processor's adapters: BatchGetItem (consistent, with unprocessed keys under
 * chaos), conditional UpdateItem (new items, version conflicts from redeliveries and the lanes of
 * parallelization factor 3), GetItem re-reads after a conflict, the alert outbox's record and
 * clear, plus the tests' own Scan, and CreateTable / UpdateTimeToLive from local/resources.ts.
 * (The reconciliation's Query is in test/integration/dynamodb-limits.ddb-local.test.ts.)
 */
import type { AlertMessage } from '../../lambdas/adapters/alert-publisher';
import { createLocalClients, destroyLocalClients, type LocalClients } from '../../local/endpoints';
import { describeOnDynamoDbLocal, useDynamoDbLocal } from '../helpers/dynamodb-local';
import { startEmulatorProcess, type EmulatorProcess } from '../helpers/emulators';
import {
  aggregateProblems,
  CALM,
  distinctAlerts,
  expectedOf,
  expectedQuarantineLines,
  faultTraffic,
  quarantineLines,
  startCuttableProxy,
  startScenario,
  valueAlertProblems,
  windowAlertProblems,
  type Line,
  type Observed,
  type Scenario,
} from '../helpers/fault-ledger';
import { until } from '../helpers/until';

const SENSORS = 16;
const HOT = 0.04;

describeOnDynamoDbLocal('speed layer under faults', () => {
  const ddb = useDynamoDbLocal();
  let emulators: EmulatorProcess;
  /** The emulators' endpoints with DynamoDB's replaced by DynamoDB Local's, for the handler too. */
  let endpoints: EmulatorProcess['endpoints'];
  let clients: LocalClients;

  beforeAll(async () => {
    emulators = await startEmulatorProcess();
    endpoints = { ...emulators.endpoints, dynamodb: ddb().endpoint };
    clients = createLocalClients(endpoints);
  });

  afterAll(async () => {
    if (clients) destroyLocalClients(clients);
    await emulators?.stop();
  });

  describe('crashes, throttles, lost responses and redeliveries at parallelization factor 3', () => {
    const lines = faultTraffic({ count: 600, sensors: SENSORS, seed: 31, prefix: 'ddbl', hotShare: HOT });
    let scenario: Scenario;
    let observed: Observed;

    beforeAll(async () => {
      scenario = await startScenario({
        endpoints,
        clients,
        stage: 'ddbl-chaos',
        parallelizationFactor: 3,
        chaos: { seed: 5, crashProbability: 0.25, throttleProbability: 0.08, redeliveryProbability: 0.3 },
      });
      await scenario.put(lines);
      await scenario.drain();
      observed = await scenario.observe();
      await scenario.stop();
    });

    test('the table expires items by TTL, as on AWS (dynalite cannot)', () => {
      expect(scenario.resources.ttlEnabled).toBe(true);
    });

    test('the faults happened', () => {
      const counters = scenario.chaos.counters;
      expect(counters.crashes + counters.throttles + counters.lostResponses).toBeGreaterThan(0);
      expect(counters.redeliveries).toBeGreaterThan(0);
    });

    test('aggregates equal the recomputation: nothing lost, nothing counted twice', () => {
      expect(aggregateProblems(observed, expectedOf(lines, scenario.config))).toEqual([]);
    });

    test('alerts keep their guarantees, and no outbox holds an alert', () => {
      const alerts = distinctAlerts(observed.deliveries);
      const expected = expectedOf(lines, scenario.config);
      expect(valueAlertProblems(alerts, expected)).toEqual([]);
      expect(windowAlertProblems(alerts, expected)).toEqual([]);
      expect(observed.pendingAlertIds).toEqual([]);
    });

    test('the quarantine holds exactly the malformed records and nothing reached the on-failure queue', () => {
      expect(quarantineLines(observed.quarantine)).toEqual(
        expectedQuarantineLines(expectedOf(lines, scenario.config)),
      );
      expect(observed.onFailure).toEqual([]);
    });
  });

  describe('SNS down on the wire for a while, then back', () => {
    const before = faultTraffic({ count: 100, sensors: SENSORS, seed: 41, prefix: 'ddbw', hotShare: HOT });
    const during = faultTraffic({
      count: 200,
      sensors: SENSORS,
      seed: 42,
      prefix: 'ddbw',
      hotShare: HOT,
      firstEvent: before.length,
    });
    const lines: Line[] = [...before, ...during];
    let scenario: Scenario;
    const deliveries: AlertMessage[] = [];
    let pendingWhileDown: string[] = [];
    let last: Observed;

    beforeAll(async () => {
      const proxy = await startCuttableProxy(emulators.endpoints.sns);
      scenario = await startScenario({
        endpoints,
        clients,
        stage: 'ddbl-sns',
        chaos: CALM,
        snsEndpoint: proxy.url,
        runner: { retryAttempts: -1 },
      });
      await scenario.put(before);
      await scenario.drain();
      deliveries.push(...(await scenario.observe()).deliveries);
      proxy.cut();
      await scenario.put(during);
      await until(
        'alerts wait in the outbox while SNS is down',
        async () => {
          const now = await scenario.observe();
          deliveries.push(...now.deliveries);
          pendingWhileDown = now.pendingAlertIds;
          return pendingWhileDown.length >= 3;
        },
        { intervalMs: 100 },
      );
      proxy.restore();
      await scenario.drain();
      last = await scenario.observe();
      deliveries.push(...last.deliveries);
      await scenario.stop();
      await proxy.close();
    });

    test('while SNS was down, recorded alerts waited in the outbox and none of them went out', () => {
      expect(pendingWhileDown.length).toBeGreaterThanOrEqual(3);
      const waitedThenSent = new Set(last.deliveries.map((a) => a.alertId));
      expect(pendingWhileDown.filter((id) => !waitedThenSent.has(id))).toEqual([]);
    });

    test('once SNS was back, every alert was delivered, each once, and the outboxes are empty', () => {
      const alerts = distinctAlerts(deliveries);
      const expected = expectedOf(lines, scenario.config);
      expect(valueAlertProblems(alerts, expected)).toEqual([]);
      expect(windowAlertProblems(alerts, expected)).toEqual([]);
      expect(deliveries.length).toBe(alerts.size);
      expect(last.pendingAlertIds).toEqual([]);
    });

    test('aggregates equal the recomputation and nothing reached the on-failure queue', () => {
      expect(aggregateProblems(last, expectedOf(lines, scenario.config))).toEqual([]);
      expect(last.onFailure).toEqual([]);
    });
  });
});
