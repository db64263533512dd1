-- txn_index computed when read, from txn_events (0010), instead of by a materialized view on
-- every insert into probe_events. That view's GROUP BY (an aggregate state per transaction key
-- per insert block, groupUniqArray's hash set among them) was the costliest part of an insert:
-- with it attached clickhouse-client stored 1.9x fewer rows/s than without it
-- (bench/results/ingest-breakdown.md). txn_events already holds the same rows ordered by key in
-- 256-row granules, so a key's summary is a read of a granule or two. Same name and columns:
-- readers keep minMerge(first_ns), maxMerge(last_ns), groupUniqArrayMerge(hosts), countMerge(events).
-- A row stored twice (until its merge) is counted twice, as the view counted it before.
-- Valid on ClickHouse 18.16 and current releases.
DROP TABLE IF EXISTS {db}.txn_index_mv
;
DROP TABLE IF EXISTS {db}.txn_index
;
CREATE VIEW IF NOT EXISTS {db}.txn_index AS
SELECT date, txn, deployment, minState(ts_ns) AS first_ns, maxState(ts_ns) AS last_ns, groupUniqArrayState(host) AS hosts, countState() AS events
FROM {db}.txn_events
GROUP BY date, txn, deployment
;
