#include <string.h>
#include "wire.h"

static void put_u32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void put_u64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t get_u32(const uint8_t *p)
{
	uint32_t v = 0;
	for (int i = 3; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}

static uint64_t get_u64(const uint8_t *p)
{
	uint64_t v = 0;
	for (int i = 7; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}

void demo_encode(const struct demo_msg *m, uint8_t *out)
{
	memset(out, 0, DEMO_FRAME_BYTES);
	put_u32(out, DEMO_BODY_BYTES);
	uint8_t *b = out + 4;
	b[0] = m->kind;
	b[1] = m->side;
	b[2] = m->status;
	put_u32(b + 4, m->qty);
	put_u64(b + 8, m->order_id);
	put_u64(b + 16, (uint64_t)m->price);
	put_u32(b + 24, m->session);
}

int demo_decode_body(const uint8_t *b, struct demo_msg *m)
{
	m->kind = b[0];
	m->side = b[1];
	m->status = b[2];
	m->qty = get_u32(b + 4);
	m->order_id = get_u64(b + 8);
	m->price = (int64_t)get_u64(b + 16);
	m->session = get_u32(b + 24);
	if (m->kind != DEMO_ORDER && m->kind != DEMO_ACK)
		return -1;
	if (m->side != DEMO_BUY && m->side != DEMO_SELL)
		return -1;
	return 0;
}
