/**
 * SNS outages in local mode: real emulators over the wire (kinesalite, dynalite, fauxqs in a child
 * process), the real SDK, the local event source runner and the deployed handler. Every Publish
 * fails for a stretch, then SNS recovers: on the wire (a proxy in front of the emulator resets
 * every connection), or as chaos storms (HTTP 500s; responses lost after the message went out).
 * Each test states where every record and every alert ended up, against an independent
 * recomputation: alerts wait in the DynamoDB outbox while SNS is down and are published exactly
 * once afterwards; aggregates are never held back or counted twice by the retries.
 */
import type { AlertMessage } from '../../lambdas/adapters/alert-publisher';
import type { LocalClients } from '../../local/endpoints';
import { useEmulators, type EmulatorProcess } from '../helpers/emulators';
import {
  aggregateProblems,
  distinctAlerts,
  expectedOf,
  expectedQuarantineLines,
  faultTraffic,
  ledger,
  quarantineLines,
  startCuttableProxy,
  startScenario,
  valueAlertProblems,
  windowAlertProblems,
  type CuttableProxy,
  type Line,
  type Observed,
  type Position,
  type Scenario,
  CALM,
} from '../helpers/fault-ledger';
import { until } from '../helpers/until';

const SENSORS = 16;
/** Hot values often enough for many alerts of both rules. */
const HOT = 0.04;

let emulators: EmulatorProcess;
let clients: LocalClients;

const local = useEmulators();
beforeAll(() => ({ emulators, clients } = local()));

const countById = (alerts: readonly AlertMessage[]) => {
  const counts = new Map<string, number>();
  for (const a of alerts) counts.set(a.alertId, (counts.get(a.alertId) ?? 0) + 1);
  return counts;
};

describe('SNS down on the wire for a while, within the retry budget', () => {
  const before = faultTraffic({ count: 150, sensors: SENSORS, seed: 21, prefix: 'wire', hotShare: HOT });
  const duringOutage = faultTraffic({
    count: 300,
    sensors: SENSORS,
    seed: 22,
    prefix: 'wire',
    hotShare: HOT,
    firstEvent: before.length,
  });
  const lines: Line[] = [...before, ...duringOutage];
  let proxy: CuttableProxy;
  let scenario: Scenario;
  let first: Observed;
  let pendingWhileDown: string[];
  let deliveredWhileDown: AlertMessage[];
  let last: Observed;

  beforeAll(async () => {
    proxy = await startCuttableProxy(emulators.endpoints.sns);
    scenario = await startScenario({
      endpoints: emulators.endpoints,
      clients,
      stage: 'sns-wire',
      chaos: CALM,
      snsEndpoint: proxy.url,
      runner: { retryAttempts: -1 },
    });
    await scenario.put(before);
    await scenario.drain();
    first = await scenario.observe();

    proxy.cut();
    const failedBefore = scenario.runner.metrics().counters.failedInvocations;
    await scenario.put(duringOutage);
    // Wait until alerts pile up in the outbox and the runner has retried them a few times.
    let pending: string[] = [];
    await until(
      'alerts wait in the outbox while SNS is down',
      async () => {
        const now = await scenario.observe();
        deliveredWhileDown = [...(deliveredWhileDown ?? []), ...now.deliveries];
        pending = now.pendingAlertIds;
        return (
          pending.length >= 3 && scenario.runner.metrics().counters.failedInvocations >= failedBefore + 5
        );
      },
      // Each check reads the table, the queues and the quarantine.
      { intervalMs: 100 },
    );
    pendingWhileDown = pending;
    proxy.restore();
    await scenario.drain();
    last = await scenario.observe();
    await scenario.stop();
    await proxy.close();
  });

  test('while SNS was down, recorded alerts waited in the outbox and none of them went out', () => {
    expect(pendingWhileDown.length).toBeGreaterThanOrEqual(3);
    const out = new Set(deliveredWhileDown.map((a) => a.alertId));
    expect(pendingWhileDown.filter((id) => out.has(id))).toEqual([]);
  });

  test('once SNS was back, each alert that had waited was delivered exactly once', () => {
    const counts = countById([...deliveredWhileDown, ...last.deliveries]);

    expect(pendingWhileDown.map((id) => counts.get(id))).toEqual(pendingWhileDown.map(() => 1));
  });

  test('per-event alerts are exactly the recomputed ones, window alerts keep their guarantees, none twice', () => {
    const deliveries = [...first.deliveries, ...deliveredWhileDown, ...last.deliveries];
    const alerts = distinctAlerts(deliveries);
    const expected = expectedOf(lines, scenario.config);

    expect(valueAlertProblems(alerts, expected)).toEqual([]);
    expect(windowAlertProblems(alerts, expected)).toEqual([]);
    expect(deliveries.length).toBe(alerts.size);
    expect(last.pendingAlertIds).toEqual([]);
  });

  test('the retries counted no record twice: aggregates equal the recomputation', () => {
    expect(aggregateProblems(last, expectedOf(lines, scenario.config))).toEqual([]);
  });

  test('the quarantine holds exactly the malformed records and nothing reached the on-failure queue', () => {
    expect(quarantineLines(last.quarantine)).toEqual(
      expectedQuarantineLines(expectedOf(lines, scenario.config)),
    );
    expect([...first.onFailure, ...last.onFailure]).toEqual([]);
  });
});

describe('an SNS outage longer than the retry budget', () => {
  const lines = faultTraffic({ count: 400, sensors: SENSORS, seed: 23, prefix: 'long', hotShare: HOT });
  let scenario: Scenario;
  let positions: Position[];
  let during: Observed;
  let after: Observed;

  beforeAll(async () => {
    scenario = await startScenario({
      endpoints: emulators.endpoints,
      clients,
      stage: 'sns-long',
      // SNS answers every Publish with HTTP 500 for the first six invocations: a first batch (two
      // shards, 100 records each) that breaches runs out of its three attempts; later ones go through.
      chaos: { ...CALM, storms: [{ service: 'sns', invocations: 6, error: 'unavailable' }] },
      runner: { retryAttempts: 2, batchSize: 100 },
      preload: lines,
    });
    positions = [...scenario.preloaded];
    await scenario.drain();
    during = await scenario.observe();
    // SNS is back: an operator replays what the on-failure queue holds.
    await scenario.redrive(during.onFailure);
    after = await scenario.observe();
    await scenario.stop();
  });

  test('records whose alerts could not be published went to the on-failure queue, with their ranges', () => {
    const { places, unaccounted } = ledger(lines, positions, during, during.onFailure);

    expect(during.onFailure.length).toBeGreaterThan(0);
    expect(during.onFailure.every((f) => f.requestContext.condition === 'RetryAttemptsExhausted')).toBe(true);
    expect(unaccounted).toEqual([]);
    expect(places['on-failure']).toBeGreaterThan(0);
  });

  test('the aggregates were neither held back nor counted twice: they equal the recomputation', () => {
    expect(aggregateProblems(during, expectedOf(lines, scenario.config))).toEqual([]);
  });

  test('before the redrive, every recomputed alert is either delivered or waiting in the outbox, never both', () => {
    const delivered = distinctAlerts(during.deliveries);
    const pending = new Set(during.pendingAlertIds);
    const expectedIds = expectedOf(lines, scenario.config).alerts.map((a) => a.alertId as string);

    expect(pending.size).toBeGreaterThan(0);
    expect(delivered.size).toBeGreaterThan(0);
    expect(expectedIds.filter((id) => !delivered.has(id) && !pending.has(id))).toEqual([]);
    expect([...pending].filter((id) => delivered.has(id))).toEqual([]);
  });

  test('after the redrive every alert was delivered exactly once and none is left in an outbox', () => {
    const deliveries = [...during.deliveries, ...after.deliveries];
    const alerts = distinctAlerts(deliveries);
    const expected = expectedOf(lines, scenario.config);

    expect(valueAlertProblems(alerts, expected)).toEqual([]);
    expect(windowAlertProblems(alerts, expected)).toEqual([]);
    expect(deliveries.length).toBe(alerts.size);
    expect(after.pendingAlertIds).toEqual([]);
  });

  test('the quarantine holds exactly the malformed records', () => {
    expect(quarantineLines(after.quarantine)).toEqual(
      expectedQuarantineLines(expectedOf(lines, scenario.config)),
    );
  });
});

describe('an SNS outage in which published messages lose their responses', () => {
  const lines = faultTraffic({ count: 300, sensors: SENSORS, seed: 24, prefix: 'lost', hotShare: HOT });
  let scenario: Scenario;
  let observed: Observed;

  beforeAll(async () => {
    scenario = await startScenario({
      endpoints: emulators.endpoints,
      clients,
      stage: 'sns-lost',
      // Half the Publish calls reach SNS, but the caller sees a socket timeout.
      chaos: {
        ...CALM,
        storms: [{ service: 'sns', invocations: 40, probability: 0.5, lostResponseShare: 1 }],
      },
      runner: { retryAttempts: -1 },
      preload: lines,
    });
    await scenario.drain();
    observed = await scenario.observe();
    await scenario.stop();
  });

  test('an alert delivered more than once is the same alert each time, at most once per lost response', () => {
    const lost = scenario.chaos.faults.filter(
      (f) => f.stormFault === 'lost-response' && f.command === 'PublishCommand',
    );
    const duplicates = observed.deliveries.length - distinctAlerts(observed.deliveries).size;

    expect(duplicates).toBeGreaterThan(0);
    expect(duplicates).toBeLessThanOrEqual(lost.length);
  });

  test('no alert is lost: per-event alerts are exactly the recomputed ones, window alerts keep their guarantees', () => {
    const alerts = distinctAlerts(observed.deliveries);
    const expected = expectedOf(lines, scenario.config);

    expect(valueAlertProblems(alerts, expected)).toEqual([]);
    expect(windowAlertProblems(alerts, expected)).toEqual([]);
    expect(observed.pendingAlertIds).toEqual([]);
  });

  test('aggregates equal the recomputation and nothing reached the on-failure queue', () => {
    expect(aggregateProblems(observed, expectedOf(lines, scenario.config))).toEqual([]);
    expect(observed.onFailure).toEqual([]);
  });
});
