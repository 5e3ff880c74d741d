import { CURATED_TABLES } from '../../../contract/lake-tables';
import {
  batchParams,
  daysBetween,
  jsonataSqlExpression,
  nextDay,
  placeholders,
  readSql,
  renderSql,
  SqlTemplateError,
} from '../../../contract/sql-template';

describe('renderSql', () => {
  test('replaces every occurrence of each placeholder', () => {
    const sql = "SELECT '{{day}}' AS a, '{{day}}' AS b WHERE x < {{limit}}";

    expect(renderSql(sql, { day: '2024-01-01', limit: 5 })).toBe(
      "SELECT '2024-01-01' AS a, '2024-01-01' AS b WHERE x < 5",
    );
  });

  test('fails naming every placeholder that has no value', () => {
    expect(() => renderSql('{{day}} {{next_day}} {{x}}', { day: '2024-01-01' })).toThrow(
      new SqlTemplateError('SQL parameters without a value: {{next_day}}, {{x}}'),
    );
  });

  test('leaves placeholders without a value in place when partial', () => {
    expect(renderSql('{{a}} {{b}}', { a: 1 }, { partial: true })).toBe('1 {{b}}');
  });

  test('ignores values the template does not use', () => {
    expect(renderSql('{{a}}', { a: 1, b: 2 })).toBe('1');
  });

  test('rejects a value that could close a quote', () => {
    expect(() => renderSql("'{{day}}'", { day: "x' OR '1'='1" })).toThrow(
      /SQL parameter day: got "x' OR '1'='1"/,
    );
  });

  test('rejects a number that is not a safe integer', () => {
    expect(() => renderSql('{{n}}', { n: 1.5 })).toThrow(
      /SQL parameter n: got 1.5; numbers must be safe integers/,
    );
  });
});

describe('placeholders', () => {
  test('lists each name once, in order of first appearance', () => {
    expect(placeholders('{{b}} {{a}} {{b}} {{Not}} {{c_1}}')).toEqual(['b', 'a', 'c_1']);
  });

  test('of the batch SQL files are day, next_day and max_clock_skew_ms only', () => {
    const used = new Set(CURATED_TABLES.flatMap((t) => placeholders(readSql(t.sqlFile))));

    expect([...used].sort()).toEqual(['day', 'max_clock_skew_ms', 'next_day']);
  });
});

describe('days', () => {
  test('batchParams gives the day, the next day and the clock skew', () => {
    expect(batchParams('2024-02-29', 300000)).toEqual({
      day: '2024-02-29',
      next_day: '2024-03-01',
      max_clock_skew_ms: 300000,
    });
  });

  test('nextDay crosses years', () => {
    expect(nextDay('2024-12-31')).toBe('2025-01-01');
  });

  test.each(['2024-02-30', '2023-02-29', '2024-13-01', '24-01-01', '2024-1-1', 'yesterday'])(
    'a day must be a calendar date, not %s',
    (day) => {
      expect(() => batchParams(day, 0)).toThrow(SqlTemplateError);
    },
  );

  test('daysBetween lists every day of the range, both ends included', () => {
    expect(daysBetween('2024-02-28', '2024-03-01')).toEqual(['2024-02-28', '2024-02-29', '2024-03-01']);
  });

  test('daysBetween fails when the range ends before it starts', () => {
    expect(() => daysBetween('2024-03-02', '2024-03-01')).toThrow(
      /to: got 2024-03-01; must not be before from/,
    );
  });
});

describe('jsonataSqlExpression', () => {
  test('embeds the SQL once, as a JSON string literal, and fills the rest in at run time', () => {
    const expression = jsonataSqlExpression(
      "SELECT '{{day}}', {{skew}}, '{{next_day}}'",
      { skew: 5 },
      {
        day: '$day',
        next_day: '$nextDay',
      },
    );

    expect(expression).toBe(
      `$replace($replace("SELECT '{{day}}', 5, '{{next_day}}'", "{{day}}", $day), "{{next_day}}", $nextDay)`,
    );
  });

  test('escapes quotes, backslashes and newlines of the SQL', () => {
    const sql = `SELECT '\\A"x"\n'`;

    const expression = jsonataSqlExpression(sql, {}, {});

    expect(JSON.parse(expression)).toBe(sql);
  });

  test('fails for a placeholder with neither a fixed nor a run-time value', () => {
    expect(() => jsonataSqlExpression('{{day}} {{other}}', {}, { day: '$day' })).toThrow(
      'SQL parameters without a value: {{other}}',
    );
  });

  test('refuses SQL containing a JSONata delimiter', () => {
    expect(() => jsonataSqlExpression("SELECT 'a%}'", {}, {})).toThrow(/must not contain "\{%" or "%\}"/);
  });
});
