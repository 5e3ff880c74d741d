import { parseEventFile, parseRecordFile, partitionKeyOf } from '../../../local/event-file';

test('a line with a sensorId is keyed by it', () => {
  expect(partitionKeyOf(Buffer.from('{"sensorId":"sensor-7","value":1}'))).toBe('sensor-7');
});

test('a line without a usable sensorId is keyed by a hash of the line', () => {
  const key = partitionKeyOf(Buffer.from('not json'));
  expect(key).toMatch(/^line-[0-9a-f]{32}$/);
  expect(partitionKeyOf(Buffer.from('not json'))).toBe(key);
  expect(partitionKeyOf(Buffer.from('{"sensorId":42}'))).toMatch(/^line-/);
  expect(partitionKeyOf(Buffer.from('{"sensorId":""}'))).toMatch(/^line-/);
});

test('lines are kept byte for byte and empty lines are skipped', () => {
  const records = parseEventFile(Buffer.from('{"a":1}\n\nbroken\r\n{"b":2}'));
  expect(records.map((r) => [r.line, Buffer.from(r.data).toString()])).toEqual([
    [1, '{"a":1}'],
    [3, 'broken\r'],
    [4, '{"b":2}'],
  ]);
});

test('bytes that are not UTF-8 are sent as they are', () => {
  const [record] = parseEventFile(Buffer.from([0xff, 0xfe, 0x41, 0x0a]));
  expect([...record.data]).toEqual([0xff, 0xfe, 0x41]);
});

test('a record file gives each line its base64 payload, partition key and explicit hash key', () => {
  const file = [
    JSON.stringify({ data: Buffer.from([0xf3, 0x89, 0x00]).toString('base64'), partitionKey: 'k1' }),
    '',
    JSON.stringify({
      data: Buffer.from('a\nb').toString('base64'),
      partitionKey: 'k2',
      explicitHashKey: '42',
    }),
  ].join('\n');
  expect(parseRecordFile(Buffer.from(file))).toEqual([
    { line: 1, data: Buffer.from([0xf3, 0x89, 0x00]), partitionKey: 'k1' },
    { line: 3, data: Buffer.from('a\nb'), partitionKey: 'k2', explicitHashKey: '42' },
  ]);
});

test.each([
  ['not json', /line 1: not JSON/],
  ['{"data":"QQ=="}', /line 1: "partitionKey" is missing/],
  ['{"data":"!!","partitionKey":"k"}', /line 1: "data" is "!!", not base64/],
  ['{"data":"QQ==","partitionKey":"k","explicitHashKey":"x"}', /line 1: "explicitHashKey" is "x"/],
])('a record file line %s is an error naming the line', (line, message) => {
  expect(() => parseRecordFile(Buffer.from(line))).toThrow(message);
});
