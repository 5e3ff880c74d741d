import { formatCsv, formatJson, formatTable } from '../../../cli/format';

const result = {
  columns: ['sensor_id', 'avg_value', 'note'],
  rows: [
    ['sensor-001', 21.5, 'ok'],
    ['sensor-002', 3, 'has, comma and "quotes"'],
    ['sensor-003', null, null],
  ],
};

test('CSV quotes fields with commas and quotes and ends lines with CRLF', () => {
  expect(formatCsv(result)).toBe(
    'sensor_id,avg_value,note\r\nsensor-001,21.5,ok\r\nsensor-002,3,"has, comma and ""quotes"""\r\nsensor-003,,\r\n',
  );
});

test('JSON is a list of objects keyed by column', () => {
  expect(JSON.parse(formatJson(result))).toEqual([
    { sensor_id: 'sensor-001', avg_value: 21.5, note: 'ok' },
    { sensor_id: 'sensor-002', avg_value: 3, note: 'has, comma and "quotes"' },
    { sensor_id: 'sensor-003', avg_value: null, note: null },
  ]);
});

test('a table right-aligns numeric columns and counts the rows', () => {
  const lines = formatTable(result).split('\n');
  expect(lines[0]).toBe('sensor_id   avg_value  note');
  expect(lines[2]).toBe('sensor-001       21.5  ok');
  expect(lines[3]).toBe('sensor-002          3  has, comma and "quotes"');
  expect(lines[5]).toBe('(3 rows)');
});

test('a table clips long cells', () => {
  const text = formatTable({ columns: ['x'], rows: [['a'.repeat(100)]] }, 10);
  expect(text.split('\n')[2]).toBe(`${'a'.repeat(9)}…`);
});
