-- Per-minute latency percentiles per deployment, event and host, for events that carry
-- a latency (a field named latency or latency_ns, or the `latency` builtin emitted).
-- Query with quantilesMerge(0.5, 0.9, 0.99, 0.999)(q) grouped by what you need.
CREATE TABLE IF NOT EXISTS {db}.latency_rollup_1m
(
    date Date,
    minute DateTime,
    deployment String,
    event String,
    host String,
    q AggregateFunction(quantiles(0.5, 0.9, 0.99, 0.999), UInt64),
    events AggregateFunction(count),
    max_ns AggregateFunction(max, UInt64)
)
ENGINE = AggregatingMergeTree
PARTITION BY date
ORDER BY (deployment, event, minute, host)
;
CREATE MATERIALIZED VIEW IF NOT EXISTS {db}.latency_rollup_1m_mv TO {db}.latency_rollup_1m
AS SELECT date, toStartOfMinute(toDateTime(intDiv(ts_ns, 1000000000))) AS minute, deployment, event, host,
    quantilesState(0.5, 0.9, 0.99, 0.999)(latency_ns) AS q, countState() AS events, maxState(latency_ns) AS max_ns
FROM {db}.probe_events
WHERE latency_ns > 0
GROUP BY date, minute, deployment, event, host
;
