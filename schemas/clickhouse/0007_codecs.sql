-- Optional improvement where the server has column codecs (not 18.16): timestamps and
-- sequences are near-monotonic within a part, so Delta + ZSTD shrinks them several times.
-- requires: codecs
ALTER TABLE {db}.probe_events MODIFY COLUMN ts_ns UInt64 CODEC(Delta, ZSTD)
;
-- requires: codecs
ALTER TABLE {db}.probe_events MODIFY COLUMN seq UInt64 CODEC(Delta, ZSTD)
;
