/* tf-demo-risk: the pre-trade check. An order with qty 0 or above --max-qty is rejected here
 * (answered upstream, never reaches the matcher); the rest go on to the matcher. Answers
 * from the matcher pass back through. USDT: order_recv, order_fwd, order_reject, ack_fwd. */
#include <stdio.h>
#include <string.h>
#include "probes.h"
#include "stage.h"

static struct stage s = { .name = "tf-demo-risk", .listen_port = 7102, .down_port = 7103, .has_down = 1, .max_up = 1 };
static uint64_t max_qty = 1000;
static unsigned long long orders, forwarded, rejected, answers;

static void on_order(struct stage *st, int slot, const struct demo_msg *m)
{
	orders++;
	TFDEMO_ORDER_POINT(order_recv, m);
	demo_spin_until(demo_now_ns() + st->delay_ns);
	if (m->qty == 0 || m->qty > max_qty) {
		struct demo_msg answer = *m;
		answer.kind = DEMO_ACK;
		answer.status = DEMO_REJECTED;
		TFDEMO_ORDER_POINT(order_reject, m);
		stage_send_up(st, slot, &answer);
		rejected++;
		return;
	}
	TFDEMO_ORDER_POINT(order_fwd, m);
	stage_send_down(st, m);
	forwarded++;
}

static void on_ack(struct stage *st, const struct demo_msg *m)
{
	TFDEMO_ANSWER_POINT(ack_fwd, m);
	if (stage_send_up(st, 0, m) == 0)
		answers++;
}

int main(int argc, char **argv)
{
	s.on_order = on_order;
	s.on_ack = on_ack;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--max-qty") && i + 1 < argc) {
			max_qty = demo_parse_u64(s.name, argv[i], argv[i + 1]);
			i++;
		} else if (stage_parse_common(&s, argc, argv, &i) < 0) {
			fprintf(stderr, "usage: tf-demo-risk [--listen PORT (7102)] [--downstream MATCHER_PORT (7103)] [--delay-us N] [--max-qty N (1000)]\n");
			return 2;
		}
	}
	int rc = stage_run(&s);
	printf("%s: stopped: orders=%llu forwarded=%llu rejected=%llu answers=%llu\n", s.name, orders, forwarded, rejected, answers);
	return rc;
}
