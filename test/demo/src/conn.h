/* Non-blocking TCP connections carrying demo frames, with the plumbing every demo
 * process shares: loopback listen/accept/connect (TCP_NODELAY), buffered reads that
 * survive partial frames, buffered writes that survive partial sends, EINTR, and a
 * stop flag set by SIGTERM/SIGINT. */
#ifndef TFDEMO_CONN_H
#define TFDEMO_CONN_H
#include <signal.h>
#include <stdint.h>
#include <stddef.h>
#include "wire.h"

#define CONN_IN_BYTES (64u * 1024u)
/* A peer that stops reading may make us buffer this much for it before we give up on it. */
#define CONN_OUT_LIMIT (64u * 1024u * 1024u)

struct conn {
	int fd; /* -1 when closed */
	uint8_t in[CONN_IN_BYTES];
	size_t in_len;
	uint8_t *out;
	size_t out_off, out_len, out_cap;
};

/* Set by SIGTERM/SIGINT (installed without SA_RESTART, so a blocked poll returns). */
extern volatile sig_atomic_t demo_stop;
void demo_install_signals(void);

uint64_t demo_now_ns(void);
/* Busy-waits on CLOCK_MONOTONIC until `deadline_ns`: a precise, known processing delay. */
void demo_spin_until(uint64_t deadline_ns);

/* Listening socket on 127.0.0.1:port (0 = any free port); *bound gets the real port. Exits on failure. */
int demo_listen(uint16_t port, uint16_t *bound);
/* One pending connection, non-blocking with TCP_NODELAY; -1 when none is pending. */
int demo_accept(int listen_fd);
/* Connects to 127.0.0.1:port, retrying refused connects for up to timeout_ms (so processes may
 * start in any order); non-blocking with TCP_NODELAY. -1 (message on stderr) on failure or stop. */
int demo_connect(uint16_t port, int timeout_ms);

void conn_init(struct conn *c, int fd);
void conn_close(struct conn *c);
typedef void (*conn_on_msg)(void *ctx, const struct demo_msg *m);
/* Reads what is available and calls on_msg for each whole frame. 0 while open; 1 when the peer
 * closed cleanly; -1 on a read error or a malformed frame (reason on stderr). */
int conn_read(struct conn *c, conn_on_msg on_msg, void *ctx, const char *who);
/* Queues one frame and writes as much as the socket takes now. 0, or -1 when the peer is gone. */
int conn_send(struct conn *c, const struct demo_msg *m);
/* Writes queued bytes; 0, or -1 when the peer is gone. */
int conn_flush(struct conn *c);
static inline size_t conn_pending(const struct conn *c) { return c->out_len - c->out_off; }

/* Parses a non-negative decimal option value or exits with a message. */
uint64_t demo_parse_u64(const char *prog, const char *opt, const char *value);

#endif
