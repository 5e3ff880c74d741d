-- sensor_stats_hourly: per sensor, metric and event-time hour of {{day}}, from the events table.
--
-- Parameters: {{day}}, the day to build (YYYY-MM-DD, UTC). Run after events.sql for the same day.
-- approx_percentile is Trino's; DuckDB's dialect layer maps it to an exact quantile.
SELECT
  sensor_id,
  metric,
  date_trunc('hour', event_time) AS hour_start,
  count(*) AS event_count,
  avg(value) AS avg_value,
  min(value) AS min_value,
  max(value) AS max_value,
  stddev_samp(value) AS stddev_value,
  approx_percentile(value, 0.5) AS p50_value,
  approx_percentile(value, 0.95) AS p95_value,
  dt
FROM events
WHERE dt = '{{day}}'
GROUP BY sensor_id, metric, date_trunc('hour', event_time), dt
