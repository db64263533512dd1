/* The demo's USDT points, provider `tfdemo` (sys/sdt.h, no semaphores: a nop until traced).
 * Every order point has the same arguments, every answer point too, so one tapset alias
 * shape fits them all:
 *   order points   arg0 order id, arg1 qty, arg2 price (ticks), arg3 side (1 buy, 2 sell)
 *   answer points  arg0 order id, arg1 status (1 filled, 2 rejected)
 *   client ack_recv also arg2 = the client's own round-trip time in ns */
#ifndef TFDEMO_PROBES_H
#define TFDEMO_PROBES_H
#include <sys/sdt.h>

#define TFDEMO_ORDER_POINT(name, m) DTRACE_PROBE4(tfdemo, name, (m)->order_id, (m)->qty, (m)->price, (m)->side)
#define TFDEMO_ANSWER_POINT(name, m) DTRACE_PROBE2(tfdemo, name, (m)->order_id, (m)->status)

#endif
