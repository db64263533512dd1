-- The ledger of applied migrations. Valid on ClickHouse 18.16 and current releases.
CREATE DATABASE IF NOT EXISTS {db}
;
CREATE TABLE IF NOT EXISTS {db}.tapfleet_migrations
(
    version UInt32,
    name String,
    applied_at DateTime
)
ENGINE = MergeTree
ORDER BY version
;
