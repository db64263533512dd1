-- Transaction key -> time range and hosts: a lookup that finds one transaction's events
-- without scanning probe_events (which is ordered by event and time, not by key).
CREATE TABLE IF NOT EXISTS {db}.txn_index
(
    date Date,
    txn String,
    deployment String,
    first_ns AggregateFunction(min, UInt64),
    last_ns AggregateFunction(max, UInt64),
    hosts AggregateFunction(groupUniqArray, String),
    events AggregateFunction(count)
)
ENGINE = AggregatingMergeTree
PARTITION BY date
ORDER BY (txn, deployment)
;
CREATE MATERIALIZED VIEW IF NOT EXISTS {db}.txn_index_mv TO {db}.txn_index
AS SELECT date, txn, deployment, minState(ts_ns) AS first_ns, maxState(ts_ns) AS last_ns, groupUniqArrayState(host) AS hosts, countState() AS events
FROM {db}.probe_events
WHERE txn != ''
GROUP BY date, txn, deployment
;
