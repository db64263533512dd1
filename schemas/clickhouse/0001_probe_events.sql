-- Raw probe events, one row per event. Valid on ClickHouse 18.16 and current releases.
--
-- Typed fields go into numbered slot columns (n0..n7 Int64, s0..s3 String) by their
-- order in the event's layout (numbers in order to n*, strings to s*), not into
-- key/value arrays: a query on one field then reads one column, which is what keeps
-- per-field filters and percentiles fast in a column store. event_layouts (0002) maps
-- names to slots; fields beyond the slots go to extra_names/extra_values (rare).
-- u64 fields are stored as their Int64 bit pattern (reinterpretAsUInt64 reads them back).
--
-- Order by what queries filter on, then time: deployment, event, host, ts_ns. boot_id
-- and seq end the key so that ReplacingMergeTree merges away any row stored twice
-- (ingest already skips redelivered batches; this is the backstop). Daily partitions,
-- dropped by the retention job.
CREATE TABLE IF NOT EXISTS {db}.probe_events
(
    date Date,
    ts_ns UInt64,
    deployment String,
    host String,
    boot_id String,
    seq UInt64,
    bundle String,
    -- The probe point(s) that emit this event, as written in the script (from the layout).
    probe String,
    event String,
    pid UInt32,
    tid UInt32,
    cpu UInt16,
    comm String,
    txn String,
    latency_ns UInt64,
    clock_offset_ns Int64,
    clock_uncertainty_ns UInt64,
    n0 Int64, n1 Int64, n2 Int64, n3 Int64, n4 Int64, n5 Int64, n6 Int64, n7 Int64,
    s0 String, s1 String, s2 String, s3 String,
    extra_names Array(String),
    extra_values Array(String)
)
ENGINE = ReplacingMergeTree
PARTITION BY date
ORDER BY (deployment, event, host, ts_ns, boot_id, seq)
;
