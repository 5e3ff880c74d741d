-- Why events were quarantined, per day over the last 14 days: the number of invalid events by
-- reason (not_json, bad_value:timestamp, bad_aggregate, ...), most frequent first. A retried batch
-- may quarantine an event twice, so events are counted once per (shard, sequence number, index in
-- a packed record).
SELECT
  dt,
  reason,
  count(DISTINCT shard_id || '/' || sequence_number || '/' || coalesce(CAST(sub_record_index AS VARCHAR), '-')) AS events
FROM quarantine
WHERE dt >= date_format(current_date - INTERVAL '14' DAY, '%Y-%m-%d')
GROUP BY dt, reason
ORDER BY dt DESC, events DESC, reason
