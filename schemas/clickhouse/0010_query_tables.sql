-- What the query service reads that the sort orders of txn_spans (0009) and probe_events (0001)
-- do not give: a transaction by its key, and a hop by time. Each is a copy kept by a
-- materialized view, back-filled below. Valid on ClickHouse 18.16 and current releases.
--
-- A transaction's spans by key. Small granules (256 rows): a lookup reads one or two of them,
-- where txn_spans (ordered by txn within each span name, 8192-row granules) reads a granule of
-- every name of every part. A re-emitted span replaces its earlier version on merge; readers
-- keep the highest version of each span until then.
CREATE TABLE IF NOT EXISTS {db}.txn_spans_by_key AS {db}.txn_spans
ENGINE = ReplacingMergeTree(version)
PARTITION BY date
ORDER BY (txn, deployment, span_id)
SETTINGS index_granularity = 256
;
CREATE MATERIALIZED VIEW IF NOT EXISTS {db}.txn_spans_by_key_mv TO {db}.txn_spans_by_key
AS SELECT * FROM {db}.txn_spans
;
-- The events that carry a transaction key, by key (the same rows as probe_events, stored once
-- more: the price of a lookup that reads a granule or two instead of every event and host range
-- of the key's time span). A row stored twice (a batch re-sent after JetStream's duplicate window)
-- merges away like in probe_events; readers take each (host, boot, seq) once until then.
CREATE TABLE IF NOT EXISTS {db}.txn_events AS {db}.probe_events
ENGINE = ReplacingMergeTree
PARTITION BY date
ORDER BY (txn, deployment, host, boot_id, seq)
SETTINGS index_granularity = 256
;
CREATE MATERIALIZED VIEW IF NOT EXISTS {db}.txn_events_mv TO {db}.txn_events
AS SELECT * FROM {db}.probe_events WHERE txn != ''
;
-- Every span ordered by time within (deployment, kind, name), narrow: "this hop in this hour"
-- reads that hour only, where txn_spans would read the whole day of the name. span_key is the
-- span id as a number (cheaper to group by than its hex); readers keep argMax(..., version) per
-- span_key, exact whether or not parts have merged (and still one row per span in a window when
-- a late event moved a span's start, which puts the new version under another key).
CREATE TABLE IF NOT EXISTS {db}.txn_span_times
(
    date Date,
    deployment String,
    kind String,
    name String,
    start_ns UInt64,
    span_key UInt64,
    txn String,
    trace_id String,
    from_host String,
    to_host String,
    duration_ns Int64,
    error_bound_ns UInt64,
    version UInt64
)
ENGINE = ReplacingMergeTree(version)
PARTITION BY date
ORDER BY (deployment, kind, name, start_ns, span_key)
;
CREATE MATERIALIZED VIEW IF NOT EXISTS {db}.txn_span_times_mv TO {db}.txn_span_times
AS SELECT date, deployment, kind, name, start_ns, reinterpretAsUInt64(unhex(span_id)) AS span_key, txn, trace_id, from_host, to_host, duration_ns, error_bound_ns, version
FROM {db}.txn_spans
;
-- Rows stored before these views existed (a row the views also caught meanwhile is stored twice
-- and read once, as above).
INSERT INTO {db}.txn_spans_by_key SELECT * FROM {db}.txn_spans
;
INSERT INTO {db}.txn_events SELECT * FROM {db}.probe_events WHERE txn != ''
;
INSERT INTO {db}.txn_span_times
SELECT date, deployment, kind, name, start_ns, reinterpretAsUInt64(unhex(span_id)), txn, trace_id, from_host, to_host, duration_ns, error_bound_ns, version
FROM {db}.txn_spans
;
