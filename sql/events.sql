-- events: the valid events whose event time falls on {{day}}, deduplicated by event id.
--
-- Parameters (replaced before the query runs; see contract/sql-template.ts):
--   {{day}}                the day to build, YYYY-MM-DD (UTC)
--   {{next_day}}           the day after {{day}}
--   {{max_clock_skew_ms}}  config maxClockSkew, in milliseconds
--
-- Written in Athena (Trino) SQL. DuckDB runs the same text after local/batch/dialect.ts has defined
-- the few Trino functions it lacks. regexp_extract is avoided (no match: NULL in Trino, '' in DuckDB).
--
-- Reads the raw arrival partitions {{day}} and {{next_day}}: records that reach the stream up to a
-- day after their event day are included; later ones never are.
--
-- Validity is the event contract v1 of core/event.ts, rule by rule:
--   not_utf8, too_large (> 64 KiB), not_json, not_object; eventId 1-128 UTF-16 code units; sensorId
--   1-128 of [A-Za-z0-9._:-]; metric 1-64 of [A-Za-z0-9._-]; value a finite number; unit absent,
--   null or a string of at most 16; timestamp an ISO-8601 date-time with zone (read the way
--   JavaScript's Date.parse reads it: day 1-31 rolls over, 24:00 is the next midnight) or integer
--   epoch milliseconds, in years 1970-9999; attributes absent, null or an object of strings.
--   future_timestamp: the speed layer compares with processing time; here the reference is the end
--   of the record's arrival hour plus 15 minutes (Firehose's longest buffer, so every record of the
--   object has arrived by then), plus maxClockSkew. Deterministic, so re-runs agree.
-- Known differences from JavaScript: a record split by a raw newline is invalid here (raw landing
-- is line-based); a string escaping an unpaired UTF-16 surrogate (\ud800) is invalid here,
-- JSON.parse accepts it. Repeated JSON keys: JSON.parse keeps the last value. A record whose top
-- level repeats a key is invalid on Athena (its cast of a document to MAP refuses duplicate keys);
-- DuckDB's cast keeps both and element_at reads the first. Within attributes, Athena keeps the last
-- value (its JSON values are re-serialised), DuckDB keeps both entries in the map.
--
-- Deduplication: of the valid copies of an event id on this day, the one that arrived first is kept:
-- the smallest object path (raw/dt=/hour=/<stream>-<version>-<arrival time>-<id>), then the smallest
-- record text, so re-runs always pick the same copy. One aggregation per event id (min_by) picks it:
-- cheaper than ranking every row with a window. Its key is path || chr(0) || text: paths never hold
-- chr(0), which sorts first, so the key orders exactly like the pair (path, text). The attributes
-- travel as their JSON text and become a map after the choice (cheaper to carry than a map).
--
-- Written with both engines' costs in mind (each rewrite gives the same result): the record is
-- parsed once, into a MAP(VARCHAR, JSON) of its top-level keys (a document that is not an object
-- gives NULL under try, so it has no eventId); type tests look at the first character of the
-- field's JSON text (LIKE '"%' is a string; a value that is not a string gives a number only if it
-- is one), and times are built with date_add on integers.
WITH
raw AS (
  SELECT line, "$path" AS source_path, dt AS arrival_dt, hour AS arrival_hour
  FROM raw_events
  WHERE dt IN ('{{day}}', '{{next_day}}')
),
decoded AS (
  SELECT
    line,
    source_path,
    (date_diff('day', DATE '1970-01-01', CAST(arrival_dt AS DATE)) * 24 + CAST(arrival_hour AS BIGINT)) * 3600000 AS arrival_hour_ms,
    CASE
      WHEN from_utf8(to_utf8(line)) = line
        AND (length(line) <= 16384 OR length(to_hex(to_utf8(line))) <= 131072)
      THEN try(CAST(json_parse(line) AS MAP(VARCHAR, JSON)))
    END AS doc
  FROM raw
),
fields AS (
  -- Each field once as a JSON value (NULL when absent); scalars are then read from that small
  -- value. A document that is not an object (not_object) is a NULL map, so the eventId rule rejects
  -- it; no filter here: DuckDB would push it below `decoded` and parse every record twice.
  SELECT
    line,
    source_path,
    arrival_hour_ms,
    element_at(doc, 'eventId') AS event_id_value,
    element_at(doc, 'sensorId') AS sensor_id_value,
    element_at(doc, 'metric') AS metric_value,
    element_at(doc, 'value') AS value_value,
    element_at(doc, 'unit') AS unit_value,
    element_at(doc, 'timestamp') AS timestamp_value,
    element_at(doc, 'attributes') AS attributes_value
  FROM decoded
),
typed AS (
  SELECT
    line,
    source_path,
    arrival_hour_ms,
    CASE WHEN json_format(event_id_value) LIKE '"%' THEN json_extract_scalar(event_id_value, '$') END AS event_id,
    CASE WHEN json_format(sensor_id_value) LIKE '"%' THEN json_extract_scalar(sensor_id_value, '$') END AS sensor_id,
    CASE WHEN json_format(metric_value) LIKE '"%' THEN json_extract_scalar(metric_value, '$') END AS metric,
    -- not a string: a number's JSON text is its decimal text; true, false, null, objects and arrays
    -- give NULL (json_format of the small value, so no second parse)
    CASE
      WHEN json_format(value_value) NOT LIKE '"%' THEN TRY_CAST(json_format(value_value) AS DOUBLE)
    END AS value,
    unit_value IS NULL OR json_format(unit_value) = 'null' AS unit_absent,
    CASE WHEN json_format(unit_value) LIKE '"%' THEN json_extract_scalar(unit_value, '$') END AS unit,
    CASE WHEN json_format(timestamp_value) LIKE '"%' THEN json_extract_scalar(timestamp_value, '$') END AS timestamp_text,
    CASE
      WHEN json_format(timestamp_value) NOT LIKE '"%'
      THEN TRY_CAST(json_format(timestamp_value) AS DOUBLE)
    END AS epoch_timestamp,
    attributes_value,
    attributes_value IS NULL OR json_format(attributes_value) = 'null' AS attributes_absent,
    CASE
      WHEN regexp_like(
        json_format(attributes_value),
        '\A\{("([^"\\]|\\.)*":"([^"\\]|\\.)*"(,"([^"\\]|\\.)*":"([^"\\]|\\.)*")*)?\}\z'
      )
      THEN try(CAST(attributes_value AS MAP(VARCHAR, VARCHAR)))
    END AS attributes
  FROM fields
),
iso AS (
  SELECT
    *,
    CASE
      WHEN regexp_like(
        timestamp_text,
        '\A[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]{1,9})?)?(Z|[+-][0-9]{2}:[0-9]{2})\z'
      )
      THEN timestamp_text
    END AS iso_timestamp
  FROM typed
),
iso_parts AS (
  SELECT
    *,
    CAST(substr(iso_timestamp, 6, 2) AS BIGINT) AS ts_month,
    CAST(substr(iso_timestamp, 9, 2) AS BIGINT) AS ts_day,
    CAST(substr(iso_timestamp, 12, 2) AS BIGINT) AS ts_hour,
    CAST(substr(iso_timestamp, 15, 2) AS BIGINT) AS ts_minute,
    CASE WHEN substr(iso_timestamp, 17, 1) = ':' THEN CAST(substr(iso_timestamp, 18, 2) AS BIGINT) ELSE 0 END AS ts_second,
    -- fraction digits: between '.' (position 20) and the zone ('Z' or '+hh:mm')
    CASE
      WHEN substr(iso_timestamp, 20, 1) = '.'
      THEN substr(iso_timestamp, 21, length(iso_timestamp) - 20 - CASE WHEN iso_timestamp LIKE '%Z' THEN 1 ELSE 6 END)
      ELSE ''
    END AS ts_fraction,
    CASE WHEN iso_timestamp LIKE '%Z' THEN 0 ELSE CAST(substr(iso_timestamp, length(iso_timestamp) - 4, 2) AS BIGINT) END AS ts_offset_hours,
    CASE WHEN iso_timestamp LIKE '%Z' THEN 0 ELSE CAST(substr(iso_timestamp, length(iso_timestamp) - 1, 2) AS BIGINT) END AS ts_offset_minutes,
    CASE WHEN substr(iso_timestamp, length(iso_timestamp) - 5, 1) = '-' THEN -1 ELSE 1 END AS ts_offset_sign
  FROM iso
),
timed AS (
  SELECT
    *,
    CASE
      WHEN iso_timestamp IS NOT NULL
        AND ts_month BETWEEN 1 AND 12 AND ts_day BETWEEN 1 AND 31
        AND ts_minute BETWEEN 0 AND 59 AND ts_second BETWEEN 0 AND 59
        AND (ts_hour BETWEEN 0 AND 23 OR (ts_hour = 24 AND ts_minute = 0 AND ts_second = 0 AND replace(ts_fraction, '0', '') = ''))
        AND ts_offset_hours BETWEEN 0 AND 23 AND ts_offset_minutes BETWEEN 0 AND 59
      THEN date_diff('day', DATE '1970-01-01', CAST(substr(iso_timestamp, 1, 7) || '-01' AS DATE)) * 86400000
        + (ts_day - 1) * 86400000 + ts_hour * 3600000 + ts_minute * 60000 + ts_second * 1000
        + CAST(substr(ts_fraction || '000', 1, 3) AS BIGINT)
        - ts_offset_sign * (ts_offset_hours * 60 + ts_offset_minutes) * 60000
      WHEN epoch_timestamp = floor(epoch_timestamp) THEN epoch_timestamp
    END AS event_ms
  FROM iso_parts
),
valid AS (
  SELECT line, source_path, arrival_hour_ms, event_id, sensor_id, metric, value, unit, attributes_value, CAST(event_ms AS BIGINT) AS event_ms
  FROM timed
  -- UTF-16 length = code points + those beyond U+FFFF (counted only for strings long enough to matter)
  WHERE length(event_id) BETWEEN 1 AND 128
    AND (length(event_id) <= 64 OR length(event_id) + regexp_count(event_id, '[' || chr(65536) || '-' || chr(1114111) || ']') <= 128)
    AND regexp_like(sensor_id, '\A[A-Za-z0-9._:-]{1,128}\z')
    AND regexp_like(metric, '\A[A-Za-z0-9._-]{1,64}\z')
    AND is_finite(value)
    AND (value = 0 OR abs(value) BETWEEN 1e-100 AND 1e100)
    AND (unit_absent OR length(unit) <= 8 OR length(unit) + regexp_count(unit, '[' || chr(65536) || '-' || chr(1114111) || ']') <= 16)
    AND event_ms BETWEEN 0 AND 253402300799999
    AND (attributes_absent OR attributes IS NOT NULL)
    AND event_ms <= arrival_hour_ms + 3600000 + 900000 + {{max_clock_skew_ms}}
),
of_day AS (
  SELECT *
  FROM valid
  WHERE event_ms >= date_diff('day', DATE '1970-01-01', DATE '{{day}}') * 86400000
    AND event_ms < date_diff('day', DATE '1970-01-01', DATE '{{day}}') * 86400000 + 86400000
),
deduped AS (
  SELECT
    event_id,
    min_by(
      CAST(
        ROW(sensor_id, metric, value, unit, attributes_value, event_ms, arrival_hour_ms)
        AS ROW(
          sensor_id VARCHAR, metric VARCHAR, value DOUBLE, unit VARCHAR,
          attributes_value JSON, event_ms BIGINT, arrival_hour_ms BIGINT
        )
      ),
      source_path || chr(0) || line
    ) AS kept
  FROM of_day
  GROUP BY event_id
)
SELECT
  event_id,
  kept.sensor_id AS sensor_id,
  kept.metric AS metric,
  kept.value AS value,
  kept.unit AS unit,
  date_add('millisecond', kept.event_ms, TIMESTAMP '1970-01-01 00:00:00.000') AS event_time,
  CAST(kept.attributes_value AS MAP(VARCHAR, VARCHAR)) AS attributes,
  date_add('millisecond', kept.arrival_hour_ms, TIMESTAMP '1970-01-01 00:00:00.000') AS arrival_hour,
  '{{day}}' AS dt
FROM deduped
