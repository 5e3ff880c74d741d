import { growth, totalsByConstructor } from '../../../bench/heap-diff';

/** A heap snapshot in V8's format with the given nodes ([type index, name, self size]). */
function snapshot(nodes: Array<[number, string, number]>) {
  const strings = [...new Set(nodes.map(([, name]) => name))];
  return {
    snapshot: {
      meta: {
        node_fields: ['type', 'name', 'id', 'self_size', 'edge_count'],
        node_types: [['hidden', 'array', 'string', 'object', 'code', 'closure']],
      },
    },
    nodes: nodes.flatMap(([type, name, size], id) => [type, strings.indexOf(name), id, size, 0]),
    strings,
  };
}

const OBJECT = 3;
const STRING = 2;

describe('heap snapshot diff', () => {
  test('totals objects and bytes per constructor, strings by type only', () => {
    const totals = totalsByConstructor(
      snapshot([
        [OBJECT, 'Map', 32],
        [OBJECT, 'Map', 32],
        [STRING, 'sensor-001', 24],
        [STRING, 'sensor-002', 24],
      ]),
    );

    expect(Object.fromEntries(totals)).toEqual({
      'object:Map': { count: 2, bytes: 64 },
      string: { count: 2, bytes: 48 },
    });
  });

  test('ranks constructors by the bytes they grew', () => {
    const before = totalsByConstructor(snapshot([[OBJECT, 'Fault', 100]]));
    const after = totalsByConstructor(
      snapshot([
        [OBJECT, 'Fault', 100],
        [OBJECT, 'Fault', 100],
        [OBJECT, 'Fault', 100],
        [OBJECT, 'Lane', 50],
      ]),
    );

    expect(growth(before, after).map((g) => [g.key, g.countGrowth, g.bytesGrowth])).toEqual([
      ['object:Fault', 2, 200],
      ['object:Lane', 1, 50],
    ]);
  });
});
