/* One pipeline stage (gateway, risk, matcher): accepts upstream connections on a loopback
 * port, optionally connects to the next stage, and calls the stage's hooks for every order
 * from upstream and every answer from downstream. Single-threaded, one poll loop. */
#ifndef TFDEMO_STAGE_H
#define TFDEMO_STAGE_H
#include "conn.h"

#define STAGE_MAX_UP 64
/* Stop reading upstream while this much is queued for a slow downstream (backpressure). */
#define STAGE_HIGH_WATER (1u << 20)

struct stage;
typedef void (*stage_on_order)(struct stage *s, int slot, const struct demo_msg *m);
typedef void (*stage_on_ack)(struct stage *s, const struct demo_msg *m);

struct stage {
	const char *name;
	uint16_t listen_port, down_port;
	int has_down;                    /* 0: the last stage (the matcher) */
	int max_up;                      /* how many upstream connections at once */
	uint64_t delay_ns;               /* injected processing delay per order */
	stage_on_order on_order;
	stage_on_ack on_ack;
	void *user;
	/* state */
	int listen_fd;
	struct conn up[STAGE_MAX_UP];
	uint32_t up_gen[STAGE_MAX_UP]; /* bumped on every accept into the slot: stale answers are recognised */
	uint8_t up_dead[STAGE_MAX_UP]; /* a send failed: closed after the current read, never inside it */
	struct conn down;
	int failed;
};

/* Parses the options every stage shares (--listen, --downstream, --delay-us); 0 or -1 on an unknown option. */
int stage_parse_common(struct stage *s, int argc, char **argv, int *i);
/* Runs until SIGTERM/SIGINT (exit 0) or the downstream stage goes away (exit 1). */
int stage_run(struct stage *s);
/* Sends to the next stage; a failure stops the stage. */
void stage_send_down(struct stage *s, const struct demo_msg *m);
/* Sends to upstream slot; 0, or -1 when that connection is gone (its answer is dropped). */
int stage_send_up(struct stage *s, int slot, const struct demo_msg *m);
/* A session id naming upstream slot and its current generation, and the reverse. */
uint32_t stage_session(const struct stage *s, int slot);
int stage_slot_of_session(const struct stage *s, uint32_t session);

#endif
