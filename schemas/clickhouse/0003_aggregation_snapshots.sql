-- Map snapshots agents publish (latest per host every second): history of aggregations.
CREATE TABLE IF NOT EXISTS {db}.aggregation_snapshots
(
    date Date,
    taken_at_ms UInt64,
    deployment String,
    host String,
    boot_id String,
    map String,
    key Array(String),
    value Int64,
    count UInt64,
    buckets Array(UInt64)
)
ENGINE = MergeTree
PARTITION BY date
ORDER BY (deployment, map, taken_at_ms, host)
;
