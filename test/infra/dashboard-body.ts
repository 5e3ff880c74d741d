/**
 * Reads a synthesized dashboard's body: CloudFormation holds it as an `Fn::Join` of JSON text and
 * references; references are rendered as `<LogicalId>`, `<LogicalId.Attribute>` or `<AWS::Region>`,
 * so the result parses as JSON and tests can look for exact metrics and dimensions.
 */
import type { Template } from 'aws-cdk-lib/assertions';

export interface DashboardWidget {
  readonly type: string;
  readonly width: number;
  readonly height: number;
  readonly x: number;
  readonly y: number;
  readonly properties: {
    readonly title?: string;
    readonly markdown?: string;
    readonly alarms?: readonly string[];
    readonly metrics?: ReadonlyArray<ReadonlyArray<string | Record<string, unknown>>>;
  };
}

type Part = string | { Ref: string } | { 'Fn::GetAtt': [string, string] };

function render(part: Part): string {
  if (typeof part === 'string') return part;
  if ('Ref' in part) return `<${part.Ref}>`;
  return `<${part['Fn::GetAtt'][0]}.${part['Fn::GetAtt'][1]}>`;
}

export function dashboardWidgets(template: Template): DashboardWidget[] {
  const dashboards = Object.values(template.findResources('AWS::CloudWatch::Dashboard'));
  if (dashboards.length !== 1) throw new Error(`expected one dashboard, found ${dashboards.length}`);
  const body = dashboards[0].Properties.DashboardBody as string | { 'Fn::Join': [string, Part[]] };
  const text = typeof body === 'string' ? body : body['Fn::Join'][1].map(render).join('');
  return (JSON.parse(text) as { widgets: DashboardWidget[] }).widgets;
}

/** A graph's metrics as `[namespace, name, dimension name, dimension value, ...]` without the options object. */
export function widgetMetrics(widget: DashboardWidget): string[][] {
  return (widget.properties.metrics ?? []).map((m) => m.filter((x): x is string => typeof x === 'string'));
}

export function widgetByTitle(widgets: readonly DashboardWidget[], title: string): DashboardWidget {
  const found = widgets.find((w) => w.properties.title === title);
  if (!found)
    throw new Error(
      `no widget titled ${title}; titles: ${widgets.map((w) => w.properties.title).join(', ')}`,
    );
  return found;
}
