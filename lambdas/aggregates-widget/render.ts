/**
 * The HTML of the sensors widget (handler.ts). Every value that reaches the page goes through
 * `escapeHtml`, including those validated before: the page shows data, never markup from it.
 * CloudWatch renders a custom widget's HTML in its own sandboxed frame; the form posts back through
 * `<cwdb-action action="call">`, which calls the function again with the form's fields.
 */
import type { WindowValues } from '../../core/aggregate';

const ENTITIES: Readonly<Record<string, string>> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ENTITIES[c]);
}

const iso = (ms: number): string => new Date(ms).toISOString().replace('.000Z', 'Z');
const num = (x: number): string => (Number.isInteger(x) ? String(x) : x.toPrecision(6));

/** count, avg, min, max of a window, as shown. */
function statistics(r: WindowValues): string[] {
  return [String(r.count), num(r.sum / r.count), num(r.min), num(r.max)];
}

function table(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  const head = headers.map((h) => `<th>${escapeHtml(h)}</th>`).join('');
  const body = rows.map((r) => `<tr>${r.map((c) => `<td>${escapeHtml(c)}</td>`).join('')}</tr>`).join('');
  return `<table class="cwdb-no-default-styles"><thead><tr>${head}</tr></thead><tbody>${body}</tbody></table>`;
}

/** The form that shows one sensor's windows: its value comes back in `widgetContext.forms.all.sensor`. */
function sensorForm(sensor: string): string {
  return (
    `<form><label>Sensor <input name="sensor" value="${escapeHtml(sensor)}" maxlength="128"></label> ` +
    `<cwdb-action action="call" display="widget">Show</cwdb-action></form>`
  );
}

export function renderTop(input: {
  metric: string;
  window: string;
  by: string;
  windowStart: number;
  rows: readonly WindowValues[];
}): string {
  const caption = `Top ${input.rows.length} sensors by ${input.by} of ${input.metric}, window ${input.window} from ${iso(input.windowStart)}`;
  const rows = input.rows.map((r, i) => [String(i + 1), r.sensorId, ...statistics(r)]);
  return (
    `<p>${escapeHtml(caption)}</p>` +
    (rows.length === 0
      ? '<p>No sensor has a window there.</p>'
      : table(['#', 'sensor', 'count', 'avg', 'min', 'max'], rows)) +
    sensorForm('')
  );
}

export function renderSeries(input: {
  sensor: string;
  window: string;
  rows: readonly WindowValues[];
}): string {
  const caption = `Sensor ${input.sensor}, window ${input.window}: ${input.rows.length} windows`;
  const rows = input.rows.map((r) => [r.metric, iso(r.windowStart), ...statistics(r)]);
  return (
    `<p>${escapeHtml(caption)}</p>` +
    (rows.length === 0
      ? '<p>No window in the time range.</p>'
      : table(['metric', 'start', 'count', 'avg', 'min', 'max'], rows)) +
    sensorForm(input.sensor)
  );
}

export function renderError(message: string): string {
  return `<p class="error"><strong>Cannot show this:</strong> ${escapeHtml(message)}</p>${sensorForm('')}`;
}
