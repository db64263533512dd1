-- Loss accounting under agent and runner death: each status carries the deployment's recent
-- outages (runner or agent down from .. to), kept here as parallel arrays (valid on 18.16 and
-- current servers); the loss report reads them back with ARRAY JOIN, one row per outage
-- (an outage reported open and later closed is grouped by its kind and start).
-- published_unacked: events a dead agent had handed to JetStream without seeing the ack.
-- outage_to_ms is 0 and outage_resolution '' while still down.
ALTER TABLE {db}.agent_status
    ADD COLUMN published_unacked UInt64 DEFAULT 0,
    ADD COLUMN outage_kind Array(String),
    ADD COLUMN outage_from_ms Array(UInt64),
    ADD COLUMN outage_to_ms Array(UInt64),
    ADD COLUMN outage_cause Array(String),
    ADD COLUMN outage_resolution Array(String)
;
