/* tapfleet-runner: loads one BPF object, attaches the programs it is told to,
 * streams ring-buffer events and map snapshots to stdout as framed records,
 * and obeys line commands on stdin (snapshot, stats, clear, run, sync, close, detach, exit). It knows
 * nothing of the probe language: the agent or `tapfleet run` tells it what to do.
 * On stdin EOF it detaches and exits, so no probe outlives its owner. */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>
#include <bpf/btf.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "perf-events.h"
#include "records.h"
#include "tapfleet-abi.h" /* the objects every bundle defines: schemas/include */

#define MAX_ATTACH 512
#define MAX_MAPS 64

enum attach_kind { AK_TRACEPOINT, AK_RAW_TRACEPOINT, AK_UPROBE, AK_URETPROBE, AK_USDT, AK_PERF_EVENT };

struct attach_req {
	enum attach_kind kind;
	const char *prog, *a, *b, *c; /* tracepoint: cat,event; uprobe: path,offset[,ref_ctr_offset]; usdt: path,provider,name; perf event: hz|ns,value */
	struct bpf_link *link;
	struct bpf_link **cpu_links; /* a perf event: one link per online CPU (link stays NULL) */
	int n_cpu_links;
};

static struct attach_req attaches[MAX_ATTACH];
static int n_attach;
/* Programs run once, after load and before any probe attaches: a `begin` probe's map writes
 * (bpftrace's BEGIN runs before the other probes attach, so they see its values from their first hit). */
static const char *run_first[MAX_ATTACH];
static int n_run_first;
static const char *snapshot_maps[MAX_MAPS];
static int n_maps;
static int target_pid = -1;
#define MAX_SCOPE_PIDS 4096
static uint32_t scope_pids[MAX_SCOPE_PIDS];
static int n_scope_pids;
static const char *scope_cgroup;
static const char *ringbuf_name = TF_NAME(TF_EVENTS_MAP);
static const char *stats_name = TF_NAME(TF_STATS_MAP);
static long poll_ms = 10, snapshot_ms, stats_ms;
static int run_stats;
static struct bpf_object *obj;
static volatile sig_atomic_t stop_requested;

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

/* ---- output: one big stdio buffer, flushed after each poll round ---- */

static void put_record(uint16_t type, const void *a, uint32_t alen, const void *b, uint32_t blen)
{
	struct tf_record_header h = { .len = alen + blen, .type = type };
	fwrite(&h, sizeof(h), 1, stdout);
	if (alen)
		fwrite(a, 1, alen, stdout);
	if (blen)
		fwrite(b, 1, blen, stdout);
}

static void fatal(const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	put_record(TF_REC_ERROR, msg, strlen(msg), NULL, 0);
	fflush(stdout);
	fprintf(stderr, "tapfleet-runner: %s\n", msg);
	exit(1);
}

static int on_event(void *ctx, void *data, size_t size)
{
	(void)ctx;
	put_record(TF_REC_EVENT, data, (uint32_t)size, NULL, 0);
	return 0;
}

/* ---- scope: which processes the probes see ---- */

/* Writes a `const volatile` global of .rodata before load, found through the
 * object's BTF (what a skeleton does, without generating one per bundle). */
static int set_rodata(const char *var, const void *val, size_t size)
{
	struct btf *btf = bpf_object__btf(obj);
	struct bpf_map *map;
	if (!btf)
		return -ENOENT;
	int sec_id = btf__find_by_name_kind(btf, ".rodata", BTF_KIND_DATASEC);
	if (sec_id < 0)
		return -ENOENT;
	bpf_object__for_each_map(map, obj) {
		const char *name = bpf_map__name(map);
		size_t n = strlen(name);
		if (!bpf_map__is_internal(map) || n < 7 || strcmp(name + n - 7, ".rodata"))
			continue;
		size_t data_size;
		const char *initial = bpf_map__initial_value(map, &data_size);
		char data[4096];
		if (!initial || data_size > sizeof(data))
			return -E2BIG;
		memcpy(data, initial, data_size);
		const struct btf_type *sec = btf__type_by_id(btf, sec_id);
		const struct btf_var_secinfo *v = btf_var_secinfos(sec);
		for (int i = 0; i < btf_vlen(sec); i++, v++) {
			const struct btf_type *t = btf__type_by_id(btf, v->type);
			if (strcmp(btf__name_by_offset(btf, t->name_off), var))
				continue;
			if (v->size != size || v->offset + size > data_size)
				return -EINVAL;
			memcpy(data + v->offset, val, size);
			return bpf_map__set_initial_value(map, data, data_size);
		}
	}
	return -ENOENT;
}

/* The cgroup v2 id of a directory is its inode number (what bpf_get_current_cgroup_id returns). */
static void configure_scope(void)
{
	uint32_t mode = TF_SCOPE_ALL;
	uint64_t cgid = 0;
	if (scope_cgroup) {
		struct stat st;
		if (stat(scope_cgroup, &st))
			fatal("scope cgroup %s: %s", scope_cgroup, strerror(errno));
		mode = TF_SCOPE_CGROUP;
		cgid = st.st_ino;
	} else if (n_scope_pids) {
		mode = TF_SCOPE_PIDS;
	} else {
		return;
	}
	if (set_rodata(TF_NAME(TF_SCOPE_MODE_VAR), &mode, sizeof(mode)) || set_rodata(TF_NAME(TF_SCOPE_CGROUP_VAR), &cgid, sizeof(cgid)))
		fatal("the object has no %s/%s: it cannot be scoped", TF_NAME(TF_SCOPE_MODE_VAR), TF_NAME(TF_SCOPE_CGROUP_VAR));
}

/* `elapsed` counts from here. An object built before TF_START_NS_VAR existed has none: nothing to set. */
static void configure_start(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	uint64_t start = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
	set_rodata(TF_NAME(TF_START_NS_VAR), &start, sizeof(start));
}

static void fill_scope_pids(void)
{
	if (!n_scope_pids || scope_cgroup)
		return;
	struct bpf_map *map = bpf_object__find_map_by_name(obj, TF_NAME(TF_SCOPE_PIDS_MAP));
	if (!map)
		fatal("the object has no %s map: it cannot be scoped", TF_NAME(TF_SCOPE_PIDS_MAP));
	uint8_t one = 1;
	for (int i = 0; i < n_scope_pids; i++)
		if (bpf_map__update_elem(map, &scope_pids[i], 4, &one, 1, BPF_ANY))
			fatal("scope pid %u: %s", scope_pids[i], strerror(errno));
}

/* ---- attach ---- */

static int attach_one(int idx)
{
	struct attach_req *r = &attaches[idx];
	struct bpf_program *prog = bpf_object__find_program_by_name(obj, r->prog);
	if (!prog)
		return -ENOENT;
	switch (r->kind) {
	case AK_TRACEPOINT:
		r->link = bpf_program__attach_tracepoint(prog, r->a, r->b);
		break;
	case AK_RAW_TRACEPOINT:
		r->link = bpf_program__attach_raw_tracepoint(prog, r->a);
		break;
	case AK_UPROBE:
	case AK_URETPROBE: {
		/* A USDT site read directly: its semaphore is the uprobe's reference counter. */
		LIBBPF_OPTS(bpf_uprobe_opts, opts, .retprobe = r->kind == AK_URETPROBE, .ref_ctr_offset = r->c ? strtoull(r->c, NULL, 0) : 0);
		r->link = bpf_program__attach_uprobe_opts(prog, target_pid, r->a, strtoull(r->b, NULL, 0), &opts);
		break;
	}
	case AK_USDT:
		r->link = bpf_program__attach_usdt(prog, target_pid, r->a, r->b, r->c, NULL);
		break;
	case AK_PERF_EVENT:
		return tf_attach_perf_events(prog, !strcmp(r->a, "hz"), strtoull(r->b, NULL, 0), &r->cpu_links, &r->n_cpu_links);
	}
	return r->link ? 0 : -errno;
}

static void attach_all(uint64_t start_ns)
{
	uint32_t ok = 0, failed = 0;
	for (int i = 0; i < n_attach; i++) {
		int err = attach_one(i);
		char msg[300];
		uint8_t head[8];
		uint32_t idx = i;
		int32_t e = err;
		if (err)
			snprintf(msg, sizeof(msg), "%s: %s", attaches[i].prog, strerror(-err));
		else
			snprintf(msg, sizeof(msg), "%s: attached", attaches[i].prog);
		memcpy(head, &idx, 4);
		memcpy(head + 4, &e, 4);
		put_record(TF_REC_ATTACH, head, 8, msg, strlen(msg));
		err ? failed++ : ok++;
	}
	uint8_t ready[16];
	uint64_t took = now_ns() - start_ns;
	memcpy(ready, &took, 8);
	memcpy(ready + 8, &ok, 4);
	memcpy(ready + 12, &failed, 4);
	put_record(TF_REC_READY, ready, 16, NULL, 0);
	fflush(stdout);
}

/* Detaching a uprobe waits for an RCU grace period (50-130 ms here), so links are
 * destroyed from parallel threads: stop time stays near one detach, not the sum. */
static void *destroy_link(void *arg)
{
	bpf_link__destroy((struct bpf_link *)arg);
	return NULL;
}

static void detach_all(void)
{
	pthread_t threads[MAX_ATTACH];
	int started[MAX_ATTACH] = { 0 };
	uint32_t links = 0;
	uint64_t t0 = now_ns();
	for (int i = 0; i < n_attach; i++) {
		if (attaches[i].cpu_links) {
			/* Perf-event links go without a grace period: no thread needed. */
			links += attaches[i].n_cpu_links;
			tf_detach_perf_events(attaches[i].cpu_links, attaches[i].n_cpu_links);
			attaches[i].cpu_links = NULL;
			attaches[i].n_cpu_links = 0;
		}
		if (!attaches[i].link)
			continue;
		links++;
		if (pthread_create(&threads[i], NULL, destroy_link, attaches[i].link) == 0)
			started[i] = 1;
		else
			bpf_link__destroy(attaches[i].link);
	}
	for (int i = 0; i < n_attach; i++) {
		if (started[i])
			pthread_join(threads[i], NULL);
		attaches[i].link = NULL;
	}
	uint8_t rec[12];
	uint64_t took = now_ns() - t0;
	memcpy(rec, &took, 8);
	memcpy(rec + 8, &links, 4);
	put_record(TF_REC_DETACHED, rec, 12, NULL, 0);
	fflush(stdout);
}

/* ---- snapshots and stats ---- */

static void snapshot_map(const char *name)
{
	struct bpf_map *map = bpf_object__find_map_by_name(obj, name);
	if (!map)
		return;
	int fd = bpf_map__fd(map);
	uint32_t ksz = bpf_map__key_size(map), vsz = bpf_map__value_size(map);
	enum bpf_map_type type = bpf_map__type(map);
	int percpu = type == BPF_MAP_TYPE_PERCPU_HASH || type == BPF_MAP_TYPE_PERCPU_ARRAY || type == BPF_MAP_TYPE_LRU_PERCPU_HASH;
	uint32_t vtotal = percpu ? ((vsz + 7) / 8 * 8) * libbpf_num_possible_cpus() : vsz;
	uint32_t cap = bpf_map__max_entries(map);
	char *keys = calloc(cap ? cap : 1, ksz), *vals = calloc(cap ? cap : 1, vtotal), *key = calloc(1, ksz), *next = calloc(1, ksz);
	uint32_t n = 0;
	void *prev = NULL;
	while (n < cap && bpf_map_get_next_key(fd, prev, next) == 0) {
		if (bpf_map_lookup_elem(fd, next, vals + (size_t)n * vtotal) == 0) {
			memcpy(keys + (size_t)n * ksz, next, ksz);
			n++;
		}
		memcpy(key, next, ksz);
		prev = key;
	}
	uint16_t nlen = strlen(name);
	uint32_t len = 2 + nlen + 12 + n * (ksz + vtotal);
	struct tf_record_header h = { .len = len, .type = TF_REC_MAP };
	fwrite(&h, sizeof(h), 1, stdout);
	fwrite(&nlen, 2, 1, stdout);
	fwrite(name, 1, nlen, stdout);
	fwrite(&ksz, 4, 1, stdout);
	fwrite(&vtotal, 4, 1, stdout);
	fwrite(&n, 4, 1, stdout);
	for (uint32_t i = 0; i < n; i++) {
		fwrite(keys + (size_t)i * ksz, 1, ksz, stdout);
		fwrite(vals + (size_t)i * vtotal, 1, vtotal, stdout);
	}
	free(keys), free(vals), free(key), free(next);
}

/* Deletes every entry of one map (the language's clear(@m), done from user space). */
static void clear_map(const char *name)
{
	struct bpf_map *map = bpf_object__find_map_by_name(obj, name);
	if (!map)
		return;
	int fd = bpf_map__fd(map);
	enum bpf_map_type type = bpf_map__type(map);
	if (type == BPF_MAP_TYPE_ARRAY || type == BPF_MAP_TYPE_PERCPU_ARRAY) {
		/* Array slots cannot be deleted (a keyless map is a one-slot array): zero every slot,
		 * each CPU's copy of a per-CPU one. */
		size_t vsz = (bpf_map__value_size(map) + 7) & ~(size_t)7;
		size_t n = type == BPF_MAP_TYPE_PERCPU_ARRAY ? (size_t)libbpf_num_possible_cpus() : 1;
		void *zeros = calloc(n, vsz);
		for (uint32_t k = 0; zeros && k < bpf_map__max_entries(map); k++)
			bpf_map_update_elem(fd, &k, zeros, BPF_ANY);
		free(zeros);
		return;
	}
	uint32_t ksz = bpf_map__key_size(map);
	char *key = calloc(1, ksz);
	/* Always restart from the first key: deleting while iterating skips entries otherwise. */
	while (bpf_map_get_next_key(fd, NULL, key) == 0)
		if (bpf_map_delete_elem(fd, key))
			break;
	free(key);
}

static void snapshot_all(void)
{
	for (int i = 0; i < n_maps; i++)
		snapshot_map(snapshot_maps[i]);
	fflush(stdout);
}

/* The stats map is a per-CPU array of enum tf_stat slots: events produced, ring-buffer reserve failures. */
static void read_counter_pair(uint64_t *produced, uint64_t *drops)
{
	*produced = *drops = 0;
	struct bpf_map *map = bpf_object__find_map_by_name(obj, stats_name);
	if (!map)
		return;
	int ncpu = libbpf_num_possible_cpus();
	uint64_t vals[ncpu];
	for (uint32_t k = 0; k < TF_STAT_SLOTS; k++) {
		if (bpf_map_lookup_elem(bpf_map__fd(map), &k, vals))
			continue;
		for (int c = 0; c < ncpu; c++)
			*(k == TF_STAT_PRODUCED ? produced : drops) += vals[c];
	}
}

static void write_stats(void)
{
	uint64_t produced, drops;
	read_counter_pair(&produced, &drops);
	uint32_t nprogs = 0;
	struct bpf_program *prog;
	uint64_t per[2 * MAX_ATTACH];
	bpf_object__for_each_program(prog, obj) {
		struct bpf_prog_info info = { 0 };
		uint32_t ilen = sizeof(info);
		if (nprogs >= MAX_ATTACH)
			break;
		if (bpf_obj_get_info_by_fd(bpf_program__fd(prog), &info, &ilen))
			memset(&info, 0, sizeof(info));
		per[2 * nprogs] = info.run_cnt;
		per[2 * nprogs + 1] = info.run_time_ns;
		nprogs++;
	}
	uint8_t head[20];
	memcpy(head, &drops, 8);
	memcpy(head + 8, &produced, 8);
	memcpy(head + 16, &nprogs, 4);
	put_record(TF_REC_STATS, head, 20, per, nprogs * 16);
	fflush(stdout);
}

/* Runs a user-side probe's program (begin, end, interval: map writes) once through
 * BPF_PROG_TEST_RUN: a raw_tp program needs no context. Returns 0 or a negative errno. */
static int run_program(const char *name)
{
	struct bpf_program *prog = bpf_object__find_program_by_name(obj, name);
	if (!prog)
		return -ENOENT;
	LIBBPF_OPTS(bpf_test_run_opts, opts);
	return bpf_prog_test_run_opts(bpf_program__fd(prog), &opts);
}

/* Closes the run: every kernel-side program returns at once from here on (TF_GATE_MAP), so
 * nothing changes the maps between an end probe's writes and the last snapshot, as bpftrace's
 * detach before END. A bundle without the gate (built before it) stays open. */
static void close_gate(void)
{
	struct bpf_map *map = bpf_object__find_map_by_name(obj, TF_NAME(TF_GATE_MAP));
	if (!map)
		return;
	uint32_t zero = 0, closed = 1;
	if (bpf_map_update_elem(bpf_map__fd(map), &zero, &closed, BPF_ANY))
		fprintf(stderr, "tapfleet-runner: close: %s\n", strerror(errno));
}

/* --run-first programs (a begin probe's) run before any probe attaches. A failure is fatal: the
 * probes would otherwise run without the values begin sets. */
static void run_first_programs(void)
{
	for (int i = 0; i < n_run_first; i++) {
		int err = run_program(run_first[i]);
		if (err)
			fatal("--run-first %s: %s", run_first[i], strerror(-err));
	}
}

/* ---- commands on stdin ---- */

/* The ring buffer the programs submit records to (NULL when the bundle sends none). */
static struct ring_buffer *rb;

/* Returns 0 to keep running, 1 to stop. */
static int handle_stdin(void)
{
	static char line[256];
	static size_t used;
	ssize_t n = read(STDIN_FILENO, line + used, sizeof(line) - 1 - used);
	if (n <= 0)
		return 1; /* EOF or error: the owner is gone */
	used += n;
	line[used] = 0;
	char *nl;
	while ((nl = strchr(line, '\n'))) {
		*nl = 0;
		if (!strcmp(line, "snapshot"))
			snapshot_all();
		else if (!strcmp(line, "stats"))
			write_stats();
		else if (!strncmp(line, "clear ", 6))
			clear_map(line + 6);
		else if (!strncmp(line, "run ", 4)) {
			/* An end or interval probe's map writes, in order with the snapshots asked around them. */
			int err = run_program(line + 4);
			if (err)
				fprintf(stderr, "tapfleet-runner: run %s: %s\n", line + 4, strerror(-err));
		}
		else if (!strcmp(line, "sync")) {
			/* Records a run program sent are in the ring: out with them first, then the answer. */
			if (rb)
				ring_buffer__consume(rb);
			put_record(TF_REC_SYNC, NULL, 0, NULL, 0);
			fflush(stdout);
		}
		else if (!strcmp(line, "close"))
			close_gate();
		else if (!strcmp(line, "detach"))
			detach_all();
		else if (!strcmp(line, "exit"))
			return 1;
		size_t rest = used - (nl + 1 - line);
		memmove(line, nl + 1, rest);
		used = rest;
		line[used] = 0;
	}
	if (used == sizeof(line) - 1)
		used = 0; /* an over-long line is garbage: drop it */
	return 0;
}

static int libbpf_log(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (level == LIBBPF_DEBUG && !getenv("TAPFLEET_RUNNER_DEBUG"))
		return 0;
	return vfprintf(stderr, fmt, ap);
}

static void on_signal(int sig)
{
	(void)sig;
	stop_requested = 1;
}

static void usage(void)
{
	fprintf(stderr,
		"usage: tapfleet-runner OBJECT [options] [attach...]\n"
		"  --pid PID                      restrict uprobes/USDT to one process\n"
		"  --scope-pid PID                only these processes fire probes (repeatable)\n"
		"  --scope-cgroup DIR             only processes in this cgroup v2 directory fire probes\n"
		"  --map NAME                     include map NAME in snapshots (repeatable)\n"
		"  --snapshot-ms N / --stats-ms N write snapshots / stats every N ms\n"
		"  --poll-ms N                    ring-buffer consume period (default 10)\n"
		"  --run-stats                    count per-program runs and run time (costs ~50-100 ns a hit)\n"
		"  --run-first PROG               run PROG once after load, before attaching (a begin probe's map writes)\n"
		"  --tracepoint PROG CAT EVENT | --raw-tracepoint PROG NAME\n"
		"  --uprobe PROG PATH OFFSET | --uretprobe PROG PATH OFFSET\n"
		"  --uprobe-ref PROG PATH OFFSET REF_CTR_OFFSET   (a USDT site with a semaphore)\n"
		"  --usdt PROG PATH PROVIDER NAME\n"
		"  --perf-event PROG hz|ns N      sample every online CPU N times a second, or every N ns\n"
		"stdin commands: snapshot, stats, clear MAP, run PROG, sync, close, detach, exit (EOF = exit)\n");
	exit(2);
}

static void parse_args(int argc, char **argv)
{
	for (int i = 2; i < argc; i++) {
		const char *o = argv[i];
#define NEED(k) do { if (i + (k) >= argc) usage(); } while (0)
		if (!strcmp(o, "--pid")) { NEED(1); target_pid = atoi(argv[++i]); }
		else if (!strcmp(o, "--scope-pid")) {
			NEED(1);
			if (n_scope_pids >= MAX_SCOPE_PIDS)
				fatal("more than %d scope pids: scope by cgroup instead", MAX_SCOPE_PIDS);
			scope_pids[n_scope_pids++] = (uint32_t)atoi(argv[++i]);
		}
		else if (!strcmp(o, "--scope-cgroup")) { NEED(1); scope_cgroup = argv[++i]; }
		else if (!strcmp(o, "--map")) { NEED(1); if (n_maps < MAX_MAPS) snapshot_maps[n_maps++] = argv[++i]; }
		else if (!strcmp(o, "--snapshot-ms")) { NEED(1); snapshot_ms = atol(argv[++i]); }
		else if (!strcmp(o, "--stats-ms")) { NEED(1); stats_ms = atol(argv[++i]); }
		else if (!strcmp(o, "--poll-ms")) { NEED(1); poll_ms = atol(argv[++i]); }
		else if (!strcmp(o, "--run-stats")) run_stats = 1;
		else if (n_attach >= MAX_ATTACH) fatal("more than %d attach points", MAX_ATTACH);
		else if (!strcmp(o, "--run-first")) {
			NEED(1);
			if (n_run_first >= MAX_ATTACH)
				fatal("more than %d --run-first programs", MAX_ATTACH);
			run_first[n_run_first++] = argv[++i];
		}
		else if (!strcmp(o, "--raw-tracepoint")) { NEED(2); attaches[n_attach++] = (struct attach_req){ AK_RAW_TRACEPOINT, argv[i + 1], argv[i + 2] }; i += 2; }
		else if (!strcmp(o, "--tracepoint")) { NEED(3); attaches[n_attach++] = (struct attach_req){ AK_TRACEPOINT, argv[i + 1], argv[i + 2], argv[i + 3] }; i += 3; }
		else if (!strcmp(o, "--uprobe") || !strcmp(o, "--uretprobe")) {
			NEED(3);
			attaches[n_attach++] = (struct attach_req){ o[3] == 'r' ? AK_URETPROBE : AK_UPROBE, argv[i + 1], argv[i + 2], argv[i + 3] };
			i += 3;
		}
		else if (!strcmp(o, "--uprobe-ref") || !strcmp(o, "--uretprobe-ref")) {
			NEED(4);
			attaches[n_attach++] = (struct attach_req){ o[3] == 'r' ? AK_URETPROBE : AK_UPROBE, argv[i + 1], argv[i + 2], argv[i + 3], argv[i + 4] };
			i += 4;
		}
		else if (!strcmp(o, "--perf-event")) {
			NEED(3);
			if (strcmp(argv[i + 2], "hz") && strcmp(argv[i + 2], "ns"))
				usage();
			attaches[n_attach++] = (struct attach_req){ AK_PERF_EVENT, argv[i + 1], argv[i + 2], argv[i + 3] };
			i += 3;
		}
		else if (!strcmp(o, "--usdt")) { NEED(4); attaches[n_attach++] = (struct attach_req){ AK_USDT, argv[i + 1], argv[i + 2], argv[i + 3], argv[i + 4] }; i += 4; }
		else usage();
#undef NEED
	}
}

int main(int argc, char **argv)
{
	uint64_t start_ns = now_ns();
	if (argc < 2 || argv[1][0] == '-')
		usage();
	static char outbuf[1 << 20];
	setvbuf(stdout, outbuf, _IOFBF, sizeof(outbuf));
	signal(SIGPIPE, SIG_IGN);
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	libbpf_set_print(libbpf_log);
	parse_args(argc, argv);

	obj = bpf_object__open_file(argv[1], NULL);
	if (!obj)
		fatal("open %s: %s", argv[1], strerror(errno));
	configure_scope();
	configure_start();
	int err = bpf_object__load(obj);
	if (err)
		fatal("load %s: %s (run with TAPFLEET_RUNNER_DEBUG=1 for the verifier log)", argv[1], strerror(-err));
	fill_scope_pids();
	/* Per-program run count and run time, for an overload governor. Off by default:
	 * it adds two clock reads to every probe hit (~50-100 ns here). */
	if (run_stats && bpf_enable_stats(BPF_STATS_RUN_TIME) < 0)
		fprintf(stderr, "tapfleet-runner: cannot enable run-time stats: %s\n", strerror(errno));

	struct bpf_map *rbmap = bpf_object__find_map_by_name(obj, ringbuf_name);
	if (rbmap) {
		rb = ring_buffer__new(bpf_map__fd(rbmap), on_event, NULL, NULL);
		if (!rb)
			fatal("ring buffer %s: %s", ringbuf_name, strerror(errno));
	}
	run_first_programs();
	attach_all(start_ns);

	uint64_t next_snapshot = snapshot_ms ? now_ns() + snapshot_ms * 1000000ull : UINT64_MAX;
	uint64_t next_stats = stats_ms ? now_ns() + stats_ms * 1000000ull : UINT64_MAX;
	struct pollfd pfd = { .fd = STDIN_FILENO, .events = POLLIN };
	int stopping = 0;
	while (!stop_requested && !stopping) {
		/* Programs submit with BPF_RB_NO_WAKEUP: consume on a timer instead of
		 * paying ~1 us a wakeup per event. */
		int ready = poll(&pfd, 1, poll_ms);
		if (rb)
			ring_buffer__consume(rb);
		if (ready > 0 && (pfd.revents & (POLLIN | POLLHUP | POLLERR)))
			stopping = handle_stdin();
		uint64_t t = now_ns();
		if (t >= next_snapshot) {
			snapshot_all();
			next_snapshot = t + snapshot_ms * 1000000ull;
		}
		if (t >= next_stats) {
			write_stats();
			next_stats = t + stats_ms * 1000000ull;
		}
		fflush(stdout);
	}
	/* Drain what is already in the ring, then final stats so nothing goes uncounted. */
	if (rb)
		ring_buffer__consume(rb);
	detach_all();
	if (rb)
		ring_buffer__consume(rb);
	snapshot_all();
	write_stats();
	ring_buffer__free(rb);
	bpf_object__close(obj);
	return 0;
}
