-- sensor_stats_daily: per sensor and metric over the event-time day {{day}}, from the events table.
--
-- Parameters: {{day}}, the day to build (YYYY-MM-DD, UTC). Run after events.sql for the same day.
-- Computed from events rather than from the hourly table: percentiles do not combine.
SELECT
  sensor_id,
  metric,
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
GROUP BY sensor_id, metric, dt
