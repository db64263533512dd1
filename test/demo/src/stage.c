#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include "stage.h"

struct read_ctx {
	struct stage *s;
	int slot;
};

static void on_up_msg(void *ctx, const struct demo_msg *m)
{
	struct read_ctx *r = ctx;
	if (m->kind == DEMO_ORDER)
		r->s->on_order(r->s, r->slot, m);
	else
		fprintf(stderr, "%s: ignoring a non-order frame from upstream (order %llu)\n", r->s->name, (unsigned long long)m->order_id);
}

static void on_down_msg(void *ctx, const struct demo_msg *m)
{
	struct read_ctx *r = ctx;
	if (m->kind == DEMO_ACK && r->s->on_ack)
		r->s->on_ack(r->s, m);
	else
		fprintf(stderr, "%s: ignoring a non-answer frame from downstream (order %llu)\n", r->s->name, (unsigned long long)m->order_id);
}

int stage_parse_common(struct stage *s, int argc, char **argv, int *i)
{
	const char *o = argv[*i];
	const char *v = *i + 1 < argc ? argv[*i + 1] : NULL;
	if (!strcmp(o, "--listen"))
		s->listen_port = (uint16_t)demo_parse_u64(s->name, o, v);
	else if (!strcmp(o, "--downstream") && s->has_down)
		s->down_port = (uint16_t)demo_parse_u64(s->name, o, v);
	else if (!strcmp(o, "--delay-us"))
		s->delay_ns = demo_parse_u64(s->name, o, v) * 1000ull;
	else
		return -1;
	(*i)++;
	return 0;
}

uint32_t stage_session(const struct stage *s, int slot)
{
	return (s->up_gen[slot] << 8) | (uint32_t)slot;
}

int stage_slot_of_session(const struct stage *s, uint32_t session)
{
	int slot = (int)(session & 0xff);
	if (slot >= s->max_up || s->up[slot].fd < 0 || s->up_dead[slot] || stage_session(s, slot) != session)
		return -1;
	return slot;
}

void stage_send_down(struct stage *s, const struct demo_msg *m)
{
	if (conn_send(&s->down, m) < 0 && !s->failed) {
		fprintf(stderr, "%s: the next stage (port %u) is gone: stopping\n", s->name, s->down_port);
		s->failed = 1;
	}
}

int stage_send_up(struct stage *s, int slot, const struct demo_msg *m)
{
	if (s->up[slot].fd < 0 || s->up_dead[slot])
		return -1;
	if (conn_send(&s->up[slot], m) < 0) {
		fprintf(stderr, "%s: upstream connection %d is gone while answering: closing it\n", s->name, slot);
		s->up_dead[slot] = 1;
		return -1;
	}
	return 0;
}

static int count_up(const struct stage *s)
{
	int n = 0;
	for (int k = 0; k < s->max_up; k++)
		n += s->up[k].fd >= 0;
	return n;
}

static void accept_upstream(struct stage *s)
{
	for (int k = 0; k < s->max_up; k++) {
		if (s->up[k].fd >= 0)
			continue;
		int fd = demo_accept(s->listen_fd);
		if (fd < 0)
			return;
		conn_init(&s->up[k], fd);
		s->up_dead[k] = 0;
		s->up_gen[k] = (s->up_gen[k] + 1) & 0xffffff;
		return;
	}
}

static void service_upstream(struct stage *s, int k, short revents)
{
	struct conn *c = &s->up[k];
	if (revents & POLLOUT && conn_flush(c) < 0) {
		conn_close(c);
		return;
	}
	if (revents & (POLLIN | POLLHUP | POLLERR)) {
		struct read_ctx r = { s, k };
		if (conn_read(c, on_up_msg, &r, s->name) != 0)
			conn_close(c); /* the upstream left (or sent garbage): wait for the next one */
	}
}

static void service_downstream(struct stage *s, short revents)
{
	if (revents & POLLOUT && conn_flush(&s->down) < 0)
		s->failed = 1;
	if (revents & (POLLIN | POLLHUP | POLLERR)) {
		struct read_ctx r = { s, -1 };
		int rc = conn_read(&s->down, on_down_msg, &r, s->name);
		if (rc != 0) {
			fprintf(stderr, "%s: the next stage (port %u) closed the connection: stopping\n", s->name, s->down_port);
			s->failed = 1;
		}
	}
}

int stage_run(struct stage *s)
{
	demo_install_signals();
	for (int k = 0; k < STAGE_MAX_UP; k++)
		s->up[k].fd = -1;
	s->down.fd = -1;
	uint16_t bound;
	s->listen_fd = demo_listen(s->listen_port, &bound);
	if (s->has_down) {
		int fd = demo_connect(s->down_port, 10000);
		if (fd < 0)
			return demo_stop ? 0 : 1;
		conn_init(&s->down, fd);
	}
	/* The line tests and scripts wait for: listening and connected onward. */
	if (s->has_down)
		printf("%s: ready, listening on 127.0.0.1:%u, forwarding to 127.0.0.1:%u\n", s->name, bound, s->down_port);
	else
		printf("%s: ready, listening on 127.0.0.1:%u\n", s->name, bound);
	fflush(stdout);

	struct pollfd pfd[STAGE_MAX_UP + 2];
	int slot_of[STAGE_MAX_UP + 2];
	while (!demo_stop && !s->failed) {
		int n = 0;
		int backpressure = s->down.fd >= 0 && conn_pending(&s->down) > STAGE_HIGH_WATER;
		if (s->down.fd >= 0) {
			pfd[n] = (struct pollfd){ .fd = s->down.fd, .events = POLLIN | (conn_pending(&s->down) ? POLLOUT : 0) };
			slot_of[n++] = -1;
		}
		if (count_up(s) < s->max_up) {
			pfd[n] = (struct pollfd){ .fd = s->listen_fd, .events = POLLIN };
			slot_of[n++] = -2;
		}
		for (int k = 0; k < s->max_up; k++) {
			if (s->up[k].fd < 0)
				continue;
			pfd[n] = (struct pollfd){ .fd = s->up[k].fd, .events = (backpressure ? 0 : POLLIN) | (conn_pending(&s->up[k]) ? POLLOUT : 0) };
			slot_of[n++] = k;
		}
		if (poll(pfd, (nfds_t)n, -1) < 0) {
			if (errno == EINTR)
				continue;
			perror("poll");
			return 1;
		}
		for (int j = 0; j < n && !s->failed; j++) {
			if (!pfd[j].revents)
				continue;
			if (slot_of[j] == -1)
				service_downstream(s, pfd[j].revents);
			else if (slot_of[j] == -2)
				accept_upstream(s);
			else
				service_upstream(s, slot_of[j], pfd[j].revents);
		}
		for (int k = 0; k < s->max_up; k++)
			if (s->up_dead[k] && s->up[k].fd >= 0)
				conn_close(&s->up[k]);
	}
	for (int k = 0; k < s->max_up; k++)
		conn_close(&s->up[k]);
	conn_close(&s->down);
	return s->failed ? 1 : 0;
}
