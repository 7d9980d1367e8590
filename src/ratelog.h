/* SPDX-License-Identifier: MIT */
/*
 * ratelog.h - rate limits for log lines that a peer can cause at will (a
 * refused connection, a failed handshake, a malformed frame), so that a
 * flood costs the log a few lines and a summary instead of a line per
 * attempt.
 *
 * Per (event, reason) pair and fixed interval: the first `burst` hits are
 * let through, the rest are counted; when the interval ends the caller
 * flushes, which logs one summary line per pair that had hits suppressed:
 *   event=EVENT reason=REASON count=N suppressed=M in=10s
 * Pure bookkeeping on an injected clock; one owner thread.
 */
#ifndef SSS_RATELOG_H
#define SSS_RATELOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RATELOG_MAX 32 /* distinct (event, reason) pairs per interval */

struct ratelog {
	uint64_t interval_ns;
	unsigned burst;
	uint64_t start_ns; /* of the open interval */
	bool open;
	struct {
		const char *event, *reason; /* static strings */
		unsigned count, logged;
	} e[RATELOG_MAX];
	size_t n;
	unsigned overflow; /* hits of pairs beyond RATELOG_MAX: never logged, summed */
};

void ratelog_init(struct ratelog *rl, uint64_t interval_ns, unsigned burst);

/* Count one hit; true when it may be logged.  *opened (may be NULL) is set
 * when this hit opened an interval: the caller arranges a flush at
 * rl->start_ns + rl->interval_ns. */
bool ratelog_hit(struct ratelog *rl, const char *event, const char *reason, uint64_t now_ns,
		 bool *opened);

/* End the interval: log the summaries (log_warning under subsys), forget
 * the counts.  Returns the number of summary lines. */
size_t ratelog_flush(struct ratelog *rl, const char *subsys);

#endif
