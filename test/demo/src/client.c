/* tf-demo-client: sends orders with consecutive ids to the gateway at a set rate, for a
 * fixed count or until SIGTERM/SIGINT, matches every answer to its order, and prints one
 * summary line with its own round-trip times. Exit 0 once all --count orders are answered
 * (filled or rejected), 1 if the gateway goes away first or an unknown answer arrives.
 * USDT: order_send (order point), ack_recv (answer point, arg2 = round trip in ns). */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "conn.h"
#include "probes.h"

#define RING (1u << 20)    /* send times of orders in flight, by id */
#define HIST_US 1000000u   /* round-trip histogram: 1 us buckets up to 1 s, then one overflow bucket */

static const char *prog = "tf-demo-client";
static uint16_t port = 7101;
static uint64_t rate = 1000, count = 1000, first_id = 1, max_inflight = 1000, reject_every;
static uint64_t sent_at[RING];
static uint32_t hist[HIST_US + 1];
static uint64_t sent, filled, rejected, unexpected, last_answer_ns;

static void usage(void)
{
	fprintf(stderr,
		"usage: tf-demo-client [--connect GATEWAY_PORT (7101)] [--rate ORDERS_PER_S (1000; 0 = as fast as the window allows)]\n"
		"                      [--count N (1000; 0 = until SIGTERM)] [--first-id N (1)] [--max-inflight N (1000)]\n"
		"                      [--reject-every N (0): every Nth order has qty 1000000, above risk's default --max-qty]\n");
	exit(2);
}

static void parse_args(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		const char *o = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (!strcmp(o, "--connect")) port = (uint16_t)demo_parse_u64(prog, o, v);
		else if (!strcmp(o, "--rate")) rate = demo_parse_u64(prog, o, v);
		else if (!strcmp(o, "--count")) count = demo_parse_u64(prog, o, v);
		else if (!strcmp(o, "--first-id")) first_id = demo_parse_u64(prog, o, v);
		else if (!strcmp(o, "--max-inflight")) max_inflight = demo_parse_u64(prog, o, v);
		else if (!strcmp(o, "--reject-every")) reject_every = demo_parse_u64(prog, o, v);
		else usage();
		i++;
	}
	if (max_inflight == 0 || max_inflight > RING) {
		fprintf(stderr, "%s: --max-inflight must be 1..%u\n", prog, RING);
		exit(2);
	}
}

static struct demo_msg make_order(uint64_t n)
{
	uint64_t id = first_id + n;
	struct demo_msg m = { .kind = DEMO_ORDER, .side = (id & 1) ? DEMO_BUY : DEMO_SELL, .qty = (uint32_t)(1 + id % 100), .order_id = id, .price = 10000 + (int64_t)(id % 50) };
	if (reject_every && (n + 1) % reject_every == 0)
		m.qty = 1000000;
	return m;
}

static uint64_t answered(void) { return filled + rejected; }

static void on_answer(void *ctx, const struct demo_msg *m)
{
	(void)ctx;
	uint64_t now = demo_now_ns();
	uint64_t n = m->order_id - first_id;
	if (m->kind != DEMO_ACK || m->order_id < first_id || n >= sent || !sent_at[n % RING]) {
		unexpected++;
		return;
	}
	uint64_t rtt = now - sent_at[n % RING];
	sent_at[n % RING] = 0;
	DTRACE_PROBE3(tfdemo, ack_recv, m->order_id, m->status, rtt);
	hist[rtt / 1000 < HIST_US ? rtt / 1000 : HIST_US]++;
	if (m->status == DEMO_REJECTED)
		rejected++;
	else
		filled++;
	last_answer_ns = now;
}

static uint64_t percentile_us(double q)
{
	uint64_t total = answered(), want = (uint64_t)(q * (double)total + 0.999999), seen = 0;
	for (uint32_t b = 0; b <= HIST_US; b++) {
		seen += hist[b];
		if (total && seen >= want)
			return b;
	}
	return 0;
}

/* Sends every order that is due by `now` while the window allows. -1 when the gateway is gone. */
static int send_due(struct conn *c, uint64_t start, uint64_t now)
{
	while ((count == 0 || sent < count) && sent - answered() < max_inflight) {
		if (rate && now < start + (sent * 1000000000ull) / rate)
			break;
		struct demo_msg m = make_order(sent);
		sent_at[sent % RING] = demo_now_ns();
		TFDEMO_ORDER_POINT(order_send, &m);
		sent++;
		if (conn_send(c, &m) < 0)
			return -1;
	}
	return 0;
}

/* How long to sleep: until the next order is due, or indefinitely when only answers are awaited. */
static struct timespec *next_wait(uint64_t start, uint64_t now, struct timespec *ts)
{
	if ((count && sent >= count) || sent - answered() >= max_inflight || !rate)
		return NULL;
	uint64_t due = start + (sent * 1000000000ull) / rate;
	uint64_t wait = due > now ? due - now : 0;
	ts->tv_sec = (time_t)(wait / 1000000000ull);
	ts->tv_nsec = (long)(wait % 1000000000ull);
	return ts;
}

int main(int argc, char **argv)
{
	parse_args(argc, argv);
	demo_install_signals();
	int fd = demo_connect(port, 10000);
	if (fd < 0)
		return 1;
	static struct conn c;
	conn_init(&c, fd);
	uint64_t start = demo_now_ns();
	int lost = 0;
	while (!demo_stop && !(count && answered() >= count)) {
		if (send_due(&c, start, demo_now_ns()) < 0) {
			lost = 1;
			break;
		}
		struct timespec ts;
		struct pollfd p = { .fd = c.fd, .events = POLLIN | (conn_pending(&c) ? POLLOUT : 0) };
		if (ppoll(&p, 1, next_wait(start, demo_now_ns(), &ts), NULL) < 0) {
			if (errno == EINTR)
				continue;
			perror("ppoll");
			return 1;
		}
		if (p.revents & POLLOUT && conn_flush(&c) < 0) {
			lost = 1;
			break;
		}
		if (p.revents & (POLLIN | POLLHUP | POLLERR) && conn_read(&c, on_answer, NULL, prog) != 0) {
			lost = 1;
			break;
		}
	}
	conn_close(&c);
	if (lost)
		fprintf(stderr, "%s: the gateway closed the connection with %llu order(s) unanswered\n", prog, (unsigned long long)(sent - answered()));
	double elapsed = (double)((last_answer_ns > start ? last_answer_ns : demo_now_ns()) - start) / 1e9;
	printf("%s: sent=%llu acked=%llu filled=%llu rejected=%llu unexpected=%llu elapsed_s=%.3f rate_per_s=%.1f rtt_p50_us=%llu rtt_p99_us=%llu\n", prog,
	       (unsigned long long)sent, (unsigned long long)answered(), (unsigned long long)filled, (unsigned long long)rejected,
	       (unsigned long long)unexpected, elapsed, elapsed > 0 ? (double)answered() / elapsed : 0.0,
	       (unsigned long long)percentile_us(0.50), (unsigned long long)percentile_us(0.99));
	if (lost || unexpected)
		return 1;
	/* A fixed count is done only when every order was answered; an endless run ends fine on a signal. */
	return count && answered() < count ? 1 : 0;
}
