import { ProgressBar } from '../../../cli/progress';

function sink(isTTY: boolean) {
  const writes: string[] = [];
  return {
    writes,
    stream: {
      isTTY,
      columns: 120,
      write: (text: string) => writes.push(text) > 0,
    } as unknown as NodeJS.WritableStream & { isTTY: boolean },
  };
}

test('on a terminal it redraws one line in place', () => {
  let now = 0;
  const { writes, stream } = sink(true);
  const bar = new ProgressBar({ label: 'producing', total: 100, unit: 'events', stream, now: () => now });
  now = 1_000;
  bar.update(50);
  expect(writes[0]).toMatch(/^\r.*producing {2}\[#{12}\.{12}\] {2} 50% {2}50\/100 events {2}50\/s/);
});

test('off a terminal it writes plain lines, no control characters', () => {
  let now = 0;
  const { writes, stream } = sink(false);
  const bar = new ProgressBar({ label: 'replaying', total: 10, stream, now: () => now, logEveryMs: 1_000 });
  now = 500;
  bar.update(3);
  now = 1_500;
  bar.update(6);
  bar.finish('done');
  expect(writes).toEqual([
    'replaying  [##############..........]   60%  6/10 items  4/s  2s  eta 1s\n',
    'done\n',
  ]);
});
