#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include "conn.h"

volatile sig_atomic_t demo_stop;

static void on_stop_signal(int sig)
{
	(void)sig;
	demo_stop = 1;
}

void demo_install_signals(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop_signal;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = 0; /* no SA_RESTART: poll/connect/sleep return EINTR and the loop sees demo_stop */
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN); /* a closed peer is an error return, not a death */
}

uint64_t demo_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

void demo_spin_until(uint64_t deadline_ns)
{
	while (demo_now_ns() < deadline_ns)
		__asm__ volatile("pause" ::: "memory");
}

static void set_socket_options(int fd)
{
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
}

static struct sockaddr_in loopback(uint16_t port)
{
	struct sockaddr_in a;
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_port = htons(port);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	return a;
}

int demo_listen(uint16_t port, uint16_t *bound)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	int one = 1;
	if (fd < 0) {
		perror("socket");
		exit(1);
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	struct sockaddr_in a = loopback(port);
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(fd, 64) < 0) {
		fprintf(stderr, "listen on 127.0.0.1:%u: %s\n", port, strerror(errno));
		exit(1);
	}
	socklen_t len = sizeof(a);
	getsockname(fd, (struct sockaddr *)&a, &len);
	*bound = ntohs(a.sin_port);
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	return fd;
}

int demo_accept(int listen_fd)
{
	int fd;
	do
		fd = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC);
	while (fd < 0 && errno == EINTR && !demo_stop);
	if (fd >= 0)
		set_socket_options(fd);
	return fd;
}

int demo_connect(uint16_t port, int timeout_ms)
{
	uint64_t deadline = demo_now_ns() + (uint64_t)timeout_ms * 1000000ull;
	for (;;) {
		int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0) {
			perror("socket");
			return -1;
		}
		struct sockaddr_in a = loopback(port);
		if (connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0) {
			set_socket_options(fd);
			return fd;
		}
		int err = errno;
		close(fd);
		if (demo_stop)
			return -1;
		/* Refused: the next stage is not listening yet. EINTR: a signal that was not a stop. */
		if ((err != ECONNREFUSED && err != EINTR) || demo_now_ns() >= deadline) {
			fprintf(stderr, "connect to 127.0.0.1:%u: %s\n", port, strerror(err));
			return -1;
		}
		struct timespec pause = { 0, 50 * 1000000L };
		nanosleep(&pause, NULL);
	}
}

void conn_init(struct conn *c, int fd)
{
	c->fd = fd;
	c->in_len = 0;
	c->out_off = c->out_len = 0;
}

void conn_close(struct conn *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	c->in_len = 0;
	c->out_off = c->out_len = 0;
}

/* Calls on_msg for each whole frame at the front of c->in, keeps a partial tail. */
static int drain_frames(struct conn *c, conn_on_msg on_msg, void *ctx, const char *who)
{
	size_t at = 0;
	while (c->in_len - at >= 4) {
		const uint8_t *p = c->in + at;
		uint32_t len = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
		if (len != DEMO_BODY_BYTES) {
			fprintf(stderr, "%s: frame of %u bytes, expected %u: closing the connection\n", who, len, DEMO_BODY_BYTES);
			return -1;
		}
		if (c->in_len - at < DEMO_FRAME_BYTES)
			break;
		struct demo_msg m;
		if (demo_decode_body(p + 4, &m) < 0) {
			fprintf(stderr, "%s: frame with unknown kind %u or side %u: closing the connection\n", who, p[4], p[5]);
			return -1;
		}
		on_msg(ctx, &m);
		at += DEMO_FRAME_BYTES;
	}
	memmove(c->in, c->in + at, c->in_len - at);
	c->in_len -= at;
	return 0;
}

int conn_read(struct conn *c, conn_on_msg on_msg, void *ctx, const char *who)
{
	for (;;) {
		ssize_t n = read(c->fd, c->in + c->in_len, sizeof(c->in) - c->in_len);
		if (n > 0) {
			c->in_len += (size_t)n;
			if (drain_frames(c, on_msg, ctx, who) < 0)
				return -1;
			continue;
		}
		if (n == 0)
			return 1;
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			return 0;
		fprintf(stderr, "%s: read: %s\n", who, strerror(errno));
		return -1;
	}
}

int conn_flush(struct conn *c)
{
	while (c->out_off < c->out_len) {
		ssize_t n = write(c->fd, c->out + c->out_off, c->out_len - c->out_off);
		if (n > 0) {
			c->out_off += (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		return -1;
	}
	if (c->out_off == c->out_len)
		c->out_off = c->out_len = 0;
	return 0;
}

int conn_send(struct conn *c, const struct demo_msg *m)
{
	if (c->fd < 0)
		return -1;
	if (c->out_len + DEMO_FRAME_BYTES > c->out_cap) {
		/* Compact first; grow only when the unsent bytes really need the room. */
		memmove(c->out, c->out + c->out_off, c->out_len - c->out_off);
		c->out_len -= c->out_off;
		c->out_off = 0;
		if (c->out_len + DEMO_FRAME_BYTES > c->out_cap) {
			size_t cap = c->out_cap ? c->out_cap * 2 : 64 * 1024;
			if (cap > CONN_OUT_LIMIT)
				return -1;
			uint8_t *bigger = realloc(c->out, cap);
			if (!bigger)
				return -1;
			c->out = bigger;
			c->out_cap = cap;
		}
	}
	demo_encode(m, c->out + c->out_len);
	c->out_len += DEMO_FRAME_BYTES;
	return conn_flush(c);
}

uint64_t demo_parse_u64(const char *prog, const char *opt, const char *value)
{
	char *end;
	errno = 0;
	unsigned long long v = value ? strtoull(value, &end, 10) : 0;
	if (!value || errno || end == value || *end || value[0] == '-') {
		fprintf(stderr, "%s: %s needs a non-negative integer, got '%s'\n", prog, opt, value ? value : "");
		exit(2);
	}
	return (uint64_t)v;
}
