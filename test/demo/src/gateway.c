/* tf-demo-gateway: takes orders from clients (up to 64 connections), stamps each with its
 * session so the answer finds its way back, forwards it to risk, routes answers back.
 * USDT: order_recv, order_fwd, ack_fwd. */
#include <stdio.h>
#include <string.h>
#include "probes.h"
#include "stage.h"

static struct stage s = { .name = "tf-demo-gateway", .listen_port = 7101, .down_port = 7102, .has_down = 1, .max_up = STAGE_MAX_UP };
static unsigned long long orders, forwarded, answers, unroutable;

static void on_order(struct stage *st, int slot, const struct demo_msg *m)
{
	orders++;
	TFDEMO_ORDER_POINT(order_recv, m);
	uint64_t t0 = demo_now_ns();
	struct demo_msg out = *m;
	out.session = stage_session(st, slot);
	demo_spin_until(t0 + st->delay_ns);
	TFDEMO_ORDER_POINT(order_fwd, &out);
	stage_send_down(st, &out);
	forwarded++;
}

static void on_ack(struct stage *st, const struct demo_msg *m)
{
	int slot = stage_slot_of_session(st, m->session);
	if (slot < 0) {
		unroutable++; /* its client left before the answer came */
		return;
	}
	TFDEMO_ANSWER_POINT(ack_fwd, m);
	if (stage_send_up(st, slot, m) == 0)
		answers++;
	else
		unroutable++;
}

int main(int argc, char **argv)
{
	s.on_order = on_order;
	s.on_ack = on_ack;
	for (int i = 1; i < argc; i++) {
		if (stage_parse_common(&s, argc, argv, &i) < 0) {
			fprintf(stderr, "usage: tf-demo-gateway [--listen PORT (7101)] [--downstream RISK_PORT (7102)] [--delay-us N]\n");
			return 2;
		}
	}
	int rc = stage_run(&s);
	printf("%s: stopped: orders=%llu forwarded=%llu answers=%llu unroutable=%llu\n", s.name, orders, forwarded, answers, unroutable);
	return rc;
}
