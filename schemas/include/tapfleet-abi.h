/* tapfleet-abi.h: the contract between a generated BPF object and the program that loads it.
 *
 * Every bundle's object defines the objects named here (through tapfleet.bpf.h, which the
 * compiler's generated C includes), and agents/runner/native/runner.c finds them by these
 * names, as libbpf-tools' runqlat.h is included by both runqlat.bpf.c and runqlat.c. Change
 * a name or a slot here and both halves change with it.
 *
 * The TypeScript half of the record header is schemas/src/event-layout.ts (EVENT_PREFIX):
 * every generated program asserts at compile time that struct tf_prefix has its offsets,
 * and schemas/src/c-abi.test.ts parses this file against it.
 *
 * Included by C for the BPF target and for the host: only <linux/types.h> types. */
#ifndef TAPFLEET_ABI_H
#define TAPFLEET_ABI_H

#include <linux/types.h>

/* Object names. The BPF side declares them with these identifiers; the loader looks them up
 * by TF_NAME(identifier), the same token as a string. */
#define TF_NAME(id) TF_NAME_(id)
#define TF_NAME_(id) #id

/* BPF_MAP_TYPE_RINGBUF: every record (struct tf_prefix, then the record's own fields). */
#define TF_EVENTS_MAP tf_events
/* BPF_MAP_TYPE_PERCPU_ARRAY of __u64, indexed by enum tf_stat. */
#define TF_STATS_MAP tf_stats
/* BPF_MAP_TYPE_HASH __u32 tgid -> __u8: the processes traced in TF_SCOPE_PIDS mode. */
#define TF_SCOPE_PIDS_MAP tf_scope_pids
/* BPF_MAP_TYPE_ARRAY of one __u32: non-zero once the run is closed (the loader's `close`). Every
 * kernel-side program then returns at once, as if detached: bpftrace detaches all probes before
 * its END runs, and a real detach costs 50-130 ms a probe. */
#define TF_GATE_MAP tf_gate
/* `const volatile __u32` in .rodata, one of enum tf_scope_mode; set before load. */
#define TF_SCOPE_MODE_VAR tf_scope_mode
/* `const volatile __u64` in .rodata: the cgroup v2 id (its inode) traced in TF_SCOPE_CGROUP mode. */
#define TF_SCOPE_CGROUP_VAR tf_scope_cgroup
/* `const volatile __u64` in .rodata: CLOCK_MONOTONIC ns (bpf_ktime_get_ns's clock) when the loader
 * opened the object, set before load; `elapsed` counts from it, as bpftrace's does from its start. */
#define TF_START_NS_VAR tf_start_ns

/* Slots of TF_STATS_MAP, each summed over CPUs by the loader. */
enum tf_stat {
	TF_STAT_PRODUCED = 0, /* records the programs tried to send */
	TF_STAT_DROPPED = 1,  /* of those, ring-buffer reservations that failed */
	TF_STAT_SLOTS = 2,
};

/* Which processes the programs see (TF_SCOPE_MODE_VAR). */
enum tf_scope_mode {
	TF_SCOPE_ALL = 0,    /* every process */
	TF_SCOPE_PIDS = 1,   /* the tgids in TF_SCOPE_PIDS_MAP */
	TF_SCOPE_CGROUP = 2, /* the cgroup TF_SCOPE_CGROUP_VAR */
};

/* The header of every ring-buffer record: decoders find the record's layout (event_id, an
 * EventLayout id of the bundle manifest), the task and the kernel time without knowing the
 * layout. The record's own fields follow at offset sizeof(struct tf_prefix). */
struct tf_prefix {
	__u32 event_id;
	__u32 cpu;
	__u32 pid;
	__u32 tid;
	__u64 ktime_ns;
	char comm[16];
};

#endif
