-- Every agent status report, with the loss counters of each pipeline stage
-- (end-to-end loss accounting reads the latest per deployment, host and boot).
CREATE TABLE IF NOT EXISTS {db}.agent_status
(
    date Date,
    at_ms UInt64,
    deployment String,
    host String,
    boot_id String,
    state String,
    reason String,
    produced_by_kernel UInt64,
    ring_buffer_drops UInt64,
    received UInt64,
    malformed UInt64,
    spooled UInt64,
    spool_drops UInt64,
    published UInt64,
    runner_restarts UInt32
)
ENGINE = MergeTree
PARTITION BY date
ORDER BY (deployment, host, boot_id, at_ms)
;
