-- Hottest sensors yesterday: the 20 sensors with the highest temperature reading on the previous
-- UTC day, with their daily mean and 95th percentile. Reads one partition of sensor_stats_daily.
SELECT
  sensor_id,
  max_value AS max_temperature,
  avg_value AS avg_temperature,
  p95_value AS p95_temperature,
  event_count AS readings
FROM sensor_stats_daily
WHERE dt = date_format(current_date - INTERVAL '1' DAY, '%Y-%m-%d')
  AND metric = 'temperature'
ORDER BY max_value DESC, sensor_id
LIMIT 20
