/* tapfleet-clock-status: this host's clock discipline as the kernel reports it, one JSON line.
 * Node has no adjtimex(2); the agent runs this each clock interval. Read-only (modes = 0),
 * so it needs no privilege. A separate program, not a runner mode: the runner loads BPF.
 *
 *   {"state":"TIME_OK","synchronised":true,"unsync":false,"status":8193,"esterrorUs":12,"maxerrorUs":1500}
 *
 * state is adjtimex's return (TIME_ERROR while the clock is not synchronised); unsync is the
 * STA_UNSYNC status flag; esterror/maxerror are the kernel's estimated and maximum error of
 * the system clock against true time, as NTP daemons (chrony, ntpd, systemd-timesyncd) set them. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/timex.h>

static const char *state_name(int state)
{
	switch (state) {
	case TIME_OK: return "TIME_OK";
	case TIME_INS: return "TIME_INS";
	case TIME_DEL: return "TIME_DEL";
	case TIME_OOP: return "TIME_OOP";
	case TIME_WAIT: return "TIME_WAIT";
	case TIME_ERROR: return "TIME_ERROR";
	default: return "UNKNOWN";
	}
}

int main(void)
{
	struct timex tx;
	memset(&tx, 0, sizeof(tx));
	int state = adjtimex(&tx);
	if (state < 0) {
		fprintf(stderr, "tapfleet-clock-status: adjtimex: %s\n", strerror(errno));
		return 1;
	}
	int unsync = (tx.status & STA_UNSYNC) != 0;
	/* The kernel itself answers TIME_ERROR when STA_UNSYNC is set; both are checked so a
	 * kernel that differs cannot make an unsynchronised clock look disciplined. */
	int synchronised = state != TIME_ERROR && !unsync;
	printf("{\"state\":\"%s\",\"synchronised\":%s,\"unsync\":%s,\"status\":%d,\"esterrorUs\":%ld,\"maxerrorUs\":%ld}\n",
	       state_name(state), synchronised ? "true" : "false", unsync ? "true" : "false", tx.status, (long)tx.esterror, (long)tx.maxerror);
	return 0;
}
