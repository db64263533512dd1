/* The demo pipeline's one message: what travels on every TCP hop, both ways.
 *
 *   u32 LE body length (= DEMO_BODY_BYTES) | body
 *   body: u8 kind | u8 side | u8 status | u8 reserved | u32 LE qty | u64 LE order id
 *         | i64 LE price (ticks) | u32 LE session | u32 reserved          (32 bytes)
 *
 * An order goes client -> gateway -> risk -> matcher; its answer (kind ACK, with a status)
 * comes back the same way, matcher -> risk -> gateway -> client, so every connection is
 * one ordinary request/answer socket. `session` is the gateway's slot for the client
 * connection the order came in on: carried through unchanged and used by the gateway to
 * route the answer, as an exchange gateway routes by its session id. Fixed layout with a
 * length prefix so a reader can refuse a frame it does not understand. */
#ifndef TFDEMO_WIRE_H
#define TFDEMO_WIRE_H
#include <stdint.h>
#include <stddef.h>

enum demo_kind { DEMO_ORDER = 1, DEMO_ACK = 2 };
enum demo_side { DEMO_BUY = 1, DEMO_SELL = 2 };
enum demo_status { DEMO_NEW = 0, DEMO_FILLED = 1, DEMO_REJECTED = 2 };

#define DEMO_BODY_BYTES 32u
#define DEMO_FRAME_BYTES (4u + DEMO_BODY_BYTES)

struct demo_msg {
	uint8_t kind, side, status;
	uint32_t qty;
	uint64_t order_id;
	int64_t price;
	uint32_t session;
};

/* Writes one whole frame (DEMO_FRAME_BYTES) at out. */
void demo_encode(const struct demo_msg *m, uint8_t *out);
/* Decodes the body of a frame whose length prefix was DEMO_BODY_BYTES; 0, or -1 when kind/side is unknown. */
int demo_decode_body(const uint8_t *body, struct demo_msg *m);

#endif
