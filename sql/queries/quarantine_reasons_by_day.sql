-- Why records were quarantined, per day over the last 14 days: the number of invalid records by
-- reason (not_json, bad_value:timestamp, ...), most frequent first. A retried batch may quarantine
-- a record twice, so records are counted once per (shard, sequence number).
SELECT
  dt,
  reason,
  count(DISTINCT shard_id || '/' || sequence_number) AS records
FROM quarantine
WHERE dt >= date_format(current_date - INTERVAL '14' DAY, '%Y-%m-%d')
GROUP BY dt, reason
ORDER BY dt DESC, records DESC, reason
