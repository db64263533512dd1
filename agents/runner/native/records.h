/* Framing of everything the runner writes to stdout. The TypeScript reader is
 * agents/runner/src/records.ts: records.test.ts parses this file and fails when the two
 * disagree on a type id or the header's size, and tests decode every type from a real runner.
 *
 * Each record: struct tf_record_header, then `len` bytes of payload, little-endian. */
#ifndef TAPFLEET_RECORDS_H
#define TAPFLEET_RECORDS_H
#include <stdint.h>

enum tf_record_type {
	TF_REC_EVENT = 1,    /* payload: raw ring-buffer record */
	TF_REC_ATTACH = 2,   /* u32 attach index | i32 -errno or 0 | message bytes */
	TF_REC_MAP = 3,      /* u16 name len | name | u32 key size | u32 value size (all CPUs) | u32 n | n x (key | value) */
	TF_REC_STATS = 4,    /* u64 ringbuf drops | u64 events produced | u32 nprogs | nprogs x (u64 run_cnt | u64 run_time_ns) */
	TF_REC_READY = 5,    /* u64 ns from exec to attached | u32 ok | u32 failed */
	TF_REC_DETACHED = 6, /* u64 ns spent detaching | u32 links */
	TF_REC_ERROR = 7,    /* message bytes: a fatal error, the runner exits after it */
	TF_REC_SYNC = 8,     /* no payload: the answer to `sync`, after every record the commands before it caused */
};

struct tf_record_header {
	uint32_t len;      /* payload bytes after this header */
	uint16_t type;     /* enum tf_record_type */
	uint16_t reserved; /* 0 */
};
_Static_assert(sizeof(struct tf_record_header) == 8, "the record header has no padding");

#endif
