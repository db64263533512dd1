/* Sampling probes (profile:hz:N): one software cpu-clock perf event per online CPU,
 * each running the same BPF program. Software, so it works without a hardware PMU
 * (most VMs have none). */
#ifndef TAPFLEET_PERF_EVENTS_H
#define TAPFLEET_PERF_EVENTS_H
#include <stdint.h>
#include <bpf/libbpf.h>

/* Opens and attaches the events: `freq` nonzero samples `value` times a second,
 * zero samples every `value` ns. On success *links holds *n links (free with
 * tf_detach_perf_events); returns 0 or -errno of the first failure (nothing kept). */
int tf_attach_perf_events(struct bpf_program *prog, int freq, uint64_t value, struct bpf_link ***links, int *n);

void tf_detach_perf_events(struct bpf_link **links, int n);

#endif
