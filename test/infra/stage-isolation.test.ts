/**
 * Two stages deployed into one account and region share no metric. CloudWatch identifies a metric
 * by namespace, name and its full set of dimensions; an alarm or a graph of one stage that named
 * the same identity as the other stage's would count the other stage's traffic. Collected from
 * every alarm, every dashboard graph and every function environment (what the handlers publish:
 * Powertools' namespace and service, and the stage, see test/unit/lambdas/pipeline-metrics.test.ts),
 * with references resolved to per-stack placeholders and the same account and region for both.
 */
import { Match, type Template } from 'aws-cdk-lib/assertions';
import {
  METRICS_NAMESPACE,
  type PipelineService,
  SERVICE_METRICS,
  STAGE_DIMENSION,
  STAGE_ENV,
} from '../../contract/metric-names';
import { type CfnContext, resolveCfn, resolveJsonText } from './cfn-values';
import { synthSluice } from './synth';

type Source = 'alarm' | 'dashboard' | 'environment';

interface MetricIdentity {
  readonly source: Source;
  readonly namespace: string;
  readonly name: string;
  readonly dimensions: Readonly<Record<string, string>>;
}

/** A metric search names no single metric; its text (the stage's workgroup, say) is its identity. */
interface SearchIdentity {
  readonly source: Source;
  readonly search: string;
}

type Identity = MetricIdentity | SearchIdentity;

interface CfnDimension {
  Name: string;
  Value: string;
}

interface CfnMetric {
  Namespace: string;
  MetricName: string;
  Dimensions?: CfnDimension[];
}

const fromCfn = (source: Source, m: CfnMetric): MetricIdentity => ({
  source,
  namespace: m.Namespace,
  name: m.MetricName,
  dimensions: Object.fromEntries((m.Dimensions ?? []).map((d) => [d.Name, d.Value])),
});

function alarmIdentities(template: Template, context: CfnContext): Identity[] {
  return Object.values(template.findResources('AWS::CloudWatch::Alarm')).flatMap((alarm) => {
    const props = resolveCfn(alarm.Properties, context) as CfnMetric & {
      Metrics?: Array<{ Expression?: string; MetricStat?: { Metric: CfnMetric } }>;
    };
    if (!props.Metrics) return [fromCfn('alarm', props)];
    return props.Metrics.flatMap((m): Identity[] => {
      if (m.MetricStat) return [fromCfn('alarm', m.MetricStat.Metric)];
      return m.Expression?.includes('SEARCH(') ? [{ source: 'alarm', search: m.Expression }] : [];
    });
  });
}

type WidgetMetric = ReadonlyArray<string | { expression?: string }>;

function dashboardIdentities(template: Template, context: CfnContext): Identity[] {
  const dashboards = Object.values(template.findResources('AWS::CloudWatch::Dashboard'));
  return dashboards.flatMap((dashboard) => {
    const body = resolveJsonText(dashboard.Properties.DashboardBody, context) as {
      widgets: Array<{ properties: { metrics?: WidgetMetric[] } }>;
    };
    return body.widgets.flatMap((widget) =>
      (widget.properties.metrics ?? []).flatMap((entry): Identity[] => {
        const [namespace, name, ...rest] = entry.filter((x): x is string => typeof x === 'string');
        if (name !== undefined) {
          const pairs = Array.from({ length: rest.length / 2 }, (_, i) => [rest[2 * i], rest[2 * i + 1]]);
          return [{ source: 'dashboard', namespace, name, dimensions: Object.fromEntries(pairs) }];
        }
        const expression = entry.find((x) => typeof x === 'object')?.expression ?? '';
        return expression.includes('SEARCH(') ? [{ source: 'dashboard', search: expression }] : [];
      }),
    );
  });
}

/** What each function publishes, read from the environment its handler builds its metrics from. */
function environmentIdentities(template: Template, context: CfnContext): Identity[] {
  return Object.values(template.findResources('AWS::Lambda::Function')).flatMap((fn) => {
    const env = (resolveCfn(fn.Properties.Environment?.Variables ?? {}, context) ?? {}) as Record<
      string,
      string
    >;
    const namespace = env.POWERTOOLS_METRICS_NAMESPACE;
    if (namespace === undefined) return [];
    const service = env.POWERTOOLS_SERVICE_NAME as PipelineService;
    const stage = env[STAGE_ENV];
    return SERVICE_METRICS[service].map((name): Identity => ({
      source: 'environment',
      namespace,
      name,
      dimensions: stage === undefined ? { service } : { service, [STAGE_DIMENSION]: stage },
    }));
  });
}

function synthStage(stage: string): { template: Template; identities: Identity[] } {
  const { stack, template } = synthSluice({ stage });
  const context: CfnContext = { stackName: stack.stackName, template };
  const identities = [
    ...alarmIdentities(template, context),
    ...dashboardIdentities(template, context),
    ...environmentIdentities(template, context),
  ];
  return { template, identities };
}

/** The identity CloudWatch matches on, regardless of where it was found. */
function key(identity: Identity): string {
  if ('search' in identity) return `SEARCH ${identity.search}`;
  const dimensions = Object.entries(identity.dimensions).sort(([a], [b]) => a.localeCompare(b));
  return JSON.stringify([identity.namespace, identity.name, dimensions]);
}

const isCustom = (i: Identity): i is MetricIdentity => 'namespace' in i && i.namespace === METRICS_NAMESPACE;

function shared(a: readonly Identity[], b: readonly Identity[]): string[] {
  const keysOfB = new Set(b.map(key));
  return [...new Set(a.map(key))].filter((k) => keysOfB.has(k)).sort();
}

describe('stage isolation', () => {
  const { identities: dev } = synthStage('dev');
  const { template, identities: prod } = synthStage('prod');

  test('dev and prod share no metric identity across alarms, dashboard graphs and function environments', () => {
    expect(shared(dev, prod)).toEqual([]);
  });

  test("each stage's custom metrics are found in every place that names them (the check is not vacuous)", () => {
    const customBySource = (source: Source) => prod.filter(isCustom).filter((i) => i.source === source);

    // Alarms: invalid-event ratio (received, invalid) and reconciliation drift.
    expect(customBySource('alarm').map((i) => i.name)).toEqual(
      expect.arrayContaining(['EventsReceived', 'InvalidEvents', 'ReconciliationMaxRelativeDifference']),
    );
    expect(customBySource('dashboard').length).toBeGreaterThanOrEqual(12);
    expect(customBySource('environment')).toHaveLength(
      Object.values(SERVICE_METRICS).reduce((n, names) => n + names.length, 0),
    );
    for (const identity of prod.filter(isCustom)) {
      expect(identity.dimensions).toMatchObject({ stage: 'prod' });
    }
  });

  test('the stage dimension is what separates the custom metrics: without it every one would be shared', () => {
    const withoutStage = (ids: readonly Identity[]): Identity[] =>
      ids.filter(isCustom).map((i) => {
        const { [STAGE_DIMENSION]: _stage, ...dimensions } = i.dimensions;
        return { ...i, dimensions };
      });

    const wouldShare = shared(withoutStage(dev), withoutStage(prod));

    expect(wouldShare).toEqual([...new Set(withoutStage(prod).map(key))].sort());
    expect(wouldShare.length).toBeGreaterThan(0);
  });

  test("a stage's functions publish in their stage and its alarms read that stage only", () => {
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: {
        Variables: Match.objectLike({
          POWERTOOLS_SERVICE_NAME: 'stream-processor',
          POWERTOOLS_METRICS_NAMESPACE: 'Sluice',
          SLUICE_STAGE: 'prod',
        }),
      },
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: 'Sluice-prod-invalid-event-ratio',
      Metrics: Match.arrayWith([
        Match.objectLike({
          MetricStat: Match.objectLike({
            Metric: {
              Namespace: 'Sluice',
              MetricName: 'InvalidEvents',
              Dimensions: [
                { Name: 'service', Value: 'stream-processor' },
                { Name: 'stage', Value: 'prod' },
              ],
            },
          }),
        }),
      ]),
    });
  });
});
