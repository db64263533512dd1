/* tapfleet.bpf.h: what every generated program shares, kept as C rather than in the
 * compiler's strings (as libbpf-tools keeps bits.bpf.h and maps.bpf.h). The generated C
 * includes it after the kernel and libbpf headers and after defining the three numbers
 * below, which the compiler decides per bundle:
 *
 *   TF_RINGBUF_BYTES     size of the ring buffer (a power of two, at least a page)
 *   TF_MAX_STRING_BYTES  the longest string buffer (bounds tf_streq's loop for the verifier)
 *   TF_MAX_SCOPE_PIDS    entries of the scope map (runner.c's MAX_SCOPE_PIDS)
 *
 * The objects it defines are the loader's contract, named in tapfleet-abi.h. */
#ifndef TAPFLEET_BPF_H
#define TAPFLEET_BPF_H

#if !defined(TF_RINGBUF_BYTES) || !defined(TF_MAX_STRING_BYTES) || !defined(TF_MAX_SCOPE_PIDS)
#error "define TF_RINGBUF_BYTES, TF_MAX_STRING_BYTES and TF_MAX_SCOPE_PIDS before including tapfleet.bpf.h"
#endif

#include "tapfleet-abi.h"

/* ---- the objects the loader knows by name ---- */

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, TF_RINGBUF_BYTES);
} TF_EVENTS_MAP SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, TF_STAT_SLOTS);
	__type(key, __u32);
	__type(value, __u64);
} TF_STATS_MAP SEC(".maps");

/* Host scope: which processes an agent traces. The runner sets the mode before load; being
 * `const volatile`, an unscoped bundle costs nothing (the verifier prunes the check). */
const volatile __u32 TF_SCOPE_MODE_VAR = TF_SCOPE_ALL;
const volatile __u64 TF_SCOPE_CGROUP_VAR = 0;
/* When the runner opened the object (`elapsed`); set before load. */
const volatile __u64 TF_START_NS_VAR = 0;
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, TF_MAX_SCOPE_PIDS);
	__type(key, __u32);
	__type(value, __u8);
} TF_SCOPE_PIDS_MAP SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} TF_GATE_MAP SEC(".maps");

/* Whether this hit counts: the run is not closed (an array lookup the JIT inlines) and the
 * process is in the host scope. */
static __always_inline bool tf_in_scope(void)
{
	__u32 zero = 0;
	__u32 *closed = bpf_map_lookup_elem(&TF_GATE_MAP, &zero);
	if (!closed || *closed)
		return false;
	if (TF_SCOPE_MODE_VAR == TF_SCOPE_ALL)
		return true;
	if (TF_SCOPE_MODE_VAR == TF_SCOPE_CGROUP)
		return bpf_get_current_cgroup_id() == TF_SCOPE_CGROUP_VAR;
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;
	return bpf_map_lookup_elem(&TF_SCOPE_PIDS_MAP, &tgid) != 0;
}

/* ---- records ---- */

/* slot: an enum tf_stat. */
static __always_inline void tf_count(__u32 slot)
{
	__u64 *c = bpf_map_lookup_elem(&TF_STATS_MAP, &slot);
	if (c)
		*c += 1;
}

static __always_inline void tf_fill_prefix(struct tf_prefix *p, __u32 id)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	p->event_id = id;
	p->cpu = bpf_get_smp_processor_id();
	p->pid = pid_tgid >> 32;
	p->tid = (__u32)pid_tgid;
	p->ktime_ns = bpf_ktime_get_ns();
	bpf_get_current_comm(p->comm, sizeof(p->comm));
}

/* ---- aggregations ---- */

static __always_inline __u32 tf_log2(__u64 v)
{
	__u32 r = 0;
	if (v >> 32) { v >>= 32; r += 32; }
	if (v >> 16) { v >>= 16; r += 16; }
	if (v >> 8) { v >>= 8; r += 8; }
	if (v >> 4) { v >>= 4; r += 4; }
	if (v >> 2) { v >>= 2; r += 2; }
	if (v >> 1) { r += 1; }
	return r;
}

/* hist buckets: [0] negative, [1] zero, [2 + k] values in [2^k, 2^(k+1)) (schemas' HIST_BUCKETS: 66). */
static __always_inline __u32 tf_hist_index(__s64 v)
{
	return v < 0 ? 0 : v == 0 ? 1 : 2 + tf_log2((__u64)v);
}

static __always_inline void *tf_lookup_or_init(void *map, void *key, void *zero)
{
	void *v = bpf_map_lookup_elem(map, key);
	if (v)
		return v;
	bpf_map_update_elem(map, key, zero, BPF_NOEXIST);
	return bpf_map_lookup_elem(map, key);
}

/* ---- expressions ---- */

/* String equality over bounded buffers of sizes na and nb (constants after inlining). */
static __always_inline bool tf_streq(const char *a, int na, const char *b, int nb)
{
	int n = na < nb ? na : nb;
	for (int i = 0; i < TF_MAX_STRING_BYTES; i++) {
		if (i >= n)
			break;
		if (a[i] != b[i])
			return false;
		if (a[i] == 0)
			return true;
	}
	if (na > n && a[n] != 0)
		return false;
	if (nb > n && b[n] != 0)
		return false;
	return true;
}

/* u8(p) .. s64(p): one integer read from user memory, 0 when unreadable. */
#define TF_READ_USER(T, p) ({ T tf_tmp = 0; bpf_probe_read_user(&tf_tmp, sizeof(tf_tmp), (const void *)(unsigned long)(p)); (__s64)tf_tmp; })

/* kstack/ustack as a map key: the stack id packed with the tgid a user stack belongs to (the
 * owner reads that process's mappings to symbolise it); schemas' unpackStackKey reads it.
 * No BPF_F_REUSE_STACKID: a stack whose hash bucket is taken gets -EEXIST (kept in the key, so
 * it is counted and shown) instead of silently overwriting a stack that keys already name. */
static __always_inline __s64 tf_stack_key(void *ctx, void *map, __u64 flags)
{
	__s64 id = bpf_get_stackid(ctx, map, flags);
	__u64 tgid = (flags & BPF_F_USER_STACK) ? bpf_get_current_pid_tgid() >> 32 : 0;
	return (__s64)((tgid << 32) | (__u32)id);
}

#endif
