-- Hourly trend of one sensor over the last 7 days, every metric: count, mean, min, max and p95 per
-- hour. The ? is the sensor id (Athena asks for it when the saved query runs).
SELECT
  hour_start,
  metric,
  event_count,
  avg_value,
  min_value,
  max_value,
  p95_value
FROM sensor_stats_hourly
WHERE sensor_id = ?
  AND dt >= date_format(current_date - INTERVAL '7' DAY, '%Y-%m-%d')
ORDER BY metric, hour_start
