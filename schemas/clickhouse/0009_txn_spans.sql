-- Spans the assembler makes from events that share a transaction key (schemas/src/transaction.ts
-- describes each column). Valid on ClickHouse 18.16 and current releases.
--
-- Ordered by (deployment, name, txn, span_id): a span keeps its key across re-emissions
-- (a late event re-opens a transaction and its spans come again with the same ids and a
-- higher version), so ReplacingMergeTree(version) keeps the newest; readers that cannot wait
-- for merges use FINAL or argMax(..., version). Percentiles of one hop read one (deployment,
-- name) range; a transaction's spans are found by txn within each name (few names per
-- deployment) or through txn_index's day. Daily partitions by the transaction's first day.
CREATE TABLE IF NOT EXISTS {db}.txn_spans
(
    date Date,
    deployment String,
    txn String,
    trace_id String,
    span_id String,
    parent_span_id String,
    kind String,
    name String,
    host String,
    from_host String,
    to_host String,
    from_event String,
    to_event String,
    start_ns UInt64,
    end_ns UInt64,
    duration_ns Int64,
    error_bound_ns UInt64,
    events UInt32,
    attr_names Array(String),
    attr_values Array(String),
    version UInt64
)
ENGINE = ReplacingMergeTree(version)
PARTITION BY date
ORDER BY (deployment, name, txn, span_id)
;
