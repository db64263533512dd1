-- Which slot column holds which field, per bundle and event (written by ingest the
-- first time it sees a bundle). `fields` is the layout's JSON with a `slot` per field.
CREATE TABLE IF NOT EXISTS {db}.event_layouts
(
    bundle String,
    event_id UInt16,
    event String,
    fields String,
    first_seen DateTime
)
ENGINE = ReplacingMergeTree
ORDER BY (bundle, event_id)
;
