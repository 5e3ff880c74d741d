-- sensor_stats_hourly_live: one row per (sensor, metric, hour) across both layers. The batch layer's
-- row where it has built the hour's day (a day is built when sensor_stats_hourly has its partition),
-- else the speed layer's exported hourly window. The boundary is a whole day, the unit the batch job
-- replaces, so no hour is counted by both layers and none falls between them; hours only late events
-- fill appear when their day is built. Filter on dt: both branches are partitioned by it.
SELECT
  sensor_id,
  metric,
  hour_start,
  event_count,
  avg_value,
  min_value,
  max_value,
  CAST('batch' AS varchar) AS source,
  dt
FROM sensor_stats_hourly
UNION ALL
SELECT
  sensor_id,
  metric,
  hour_start,
  event_count,
  avg_value,
  min_value,
  max_value,
  CAST('speed' AS varchar) AS source,
  dt
FROM speed_hourly
WHERE dt NOT IN (SELECT DISTINCT dt FROM sensor_stats_hourly)
