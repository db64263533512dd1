/* tf-demo-matcher: the last stage. Every order that passed risk is filled in full at its
 * limit price against an unlimited counterparty: the demo measures the path, not a book.
 * USDT: order_recv, order_ack. */
#include <stdio.h>
#include <string.h>
#include "probes.h"
#include "stage.h"

static struct stage s = { .name = "tf-demo-matcher", .listen_port = 7103, .has_down = 0, .max_up = 1 };
static unsigned long long orders, answers;

static void on_order(struct stage *st, int slot, const struct demo_msg *m)
{
	orders++;
	TFDEMO_ORDER_POINT(order_recv, m);
	demo_spin_until(demo_now_ns() + st->delay_ns);
	struct demo_msg answer = *m;
	answer.kind = DEMO_ACK;
	answer.status = DEMO_FILLED;
	TFDEMO_ANSWER_POINT(order_ack, &answer);
	if (stage_send_up(st, slot, &answer) == 0)
		answers++;
}

int main(int argc, char **argv)
{
	s.on_order = on_order;
	for (int i = 1; i < argc; i++) {
		if (stage_parse_common(&s, argc, argv, &i) < 0) {
			fprintf(stderr, "usage: tf-demo-matcher [--listen PORT (7103)] [--delay-us N]\n");
			return 2;
		}
	}
	int rc = stage_run(&s);
	printf("%s: stopped: orders=%llu answers=%llu\n", s.name, orders, answers);
	return rc;
}
