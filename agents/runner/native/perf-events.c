#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/syscall.h>
#include <linux/perf_event.h>
#include "perf-events.h"

#define MAX_CPUS 4096

/* Online CPUs from sysfs ("0-3,6"): sampling an offline CPU fails, a possible one may be absent. */
static int online_cpus(int *cpus, int cap)
{
	FILE *f = fopen("/sys/devices/system/cpu/online", "r");
	int n = 0, a, b;
	char sep;
	if (!f)
		return -errno;
	while (fscanf(f, "%d", &a) == 1) {
		b = a;
		if (fscanf(f, "%c", &sep) == 1 && sep == '-') {
			if (fscanf(f, "%d", &b) != 1)
				break;
			if (fscanf(f, "%c", &sep) != 1)
				sep = '\n';
		}
		for (int c = a; c <= b && n < cap; c++)
			cpus[n++] = c;
		if (sep != ',')
			break;
	}
	fclose(f);
	return n;
}

void tf_detach_perf_events(struct bpf_link **links, int n)
{
	for (int i = 0; i < n; i++)
		bpf_link__destroy(links[i]); /* closes the perf event's fd too */
	free(links);
}

int tf_attach_perf_events(struct bpf_program *prog, int freq, uint64_t value, struct bpf_link ***links, int *n)
{
	static int cpus[MAX_CPUS];
	int ncpu = online_cpus(cpus, MAX_CPUS);
	if (ncpu <= 0)
		return ncpu < 0 ? ncpu : -ENODEV;
	struct bpf_link **out = calloc(ncpu, sizeof(*out));
	if (!out)
		return -ENOMEM;
	struct perf_event_attr attr;
	memset(&attr, 0, sizeof(attr));
	attr.size = sizeof(attr);
	attr.type = PERF_TYPE_SOFTWARE;
	attr.config = PERF_COUNT_SW_CPU_CLOCK;
	attr.freq = freq ? 1 : 0;
	if (freq)
		attr.sample_freq = value;
	else
		attr.sample_period = value;
	for (int i = 0; i < ncpu; i++) {
		int fd = syscall(SYS_perf_event_open, &attr, -1, cpus[i], -1, PERF_FLAG_FD_CLOEXEC);
		int err = fd < 0 ? -errno : 0;
		if (!err) {
			out[i] = bpf_program__attach_perf_event(prog, fd);
			if (!out[i]) {
				err = -errno;
				close(fd);
			}
		}
		if (err) {
			tf_detach_perf_events(out, i);
			return err;
		}
	}
	*links = out;
	*n = ncpu;
	return 0;
}
