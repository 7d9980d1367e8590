/* SPDX-License-Identifier: MIT */
/*
 * ratelog.c - see ratelog.h.
 */
#include "ratelog.h"

#include <string.h>

#include "log.h"

void ratelog_init(struct ratelog *rl, uint64_t interval_ns, unsigned burst)
{
	memset(rl, 0, sizeof(*rl));
	rl->interval_ns = interval_ns;
	rl->burst = burst;
}

bool ratelog_hit(struct ratelog *rl, const char *event, const char *reason, uint64_t now_ns,
		 bool *opened)
{
	size_t i;

	if (opened)
		*opened = false;
	if (!rl->open) {
		rl->open = true;
		rl->start_ns = now_ns;
		if (opened)
			*opened = true;
	}
	for (i = 0; i < rl->n; i++)
		if (strcmp(rl->e[i].event, event) == 0 && strcmp(rl->e[i].reason, reason) == 0)
			break;
	if (i == rl->n) {
		if (rl->n == RATELOG_MAX) {
			rl->overflow++;
			return false;
		}
		rl->e[rl->n].event = event;
		rl->e[rl->n].reason = reason;
		rl->e[rl->n].count = rl->e[rl->n].logged = 0;
		rl->n++;
	}
	rl->e[i].count++;
	if (rl->e[i].logged >= rl->burst)
		return false;
	rl->e[i].logged++;
	return true;
}

size_t ratelog_flush(struct ratelog *rl, const char *subsys)
{
	unsigned secs = (unsigned)(rl->interval_ns / 1000000000u);
	size_t lines = 0;

	for (size_t i = 0; i < rl->n; i++) {
		if (rl->e[i].count <= rl->e[i].logged)
			continue;
		log_warning(subsys, "event=%s reason=%s count=%u suppressed=%u in=%us", rl->e[i].event,
			    rl->e[i].reason, rl->e[i].count, rl->e[i].count - rl->e[i].logged, secs);
		lines++;
	}
	if (rl->overflow) {
		log_warning(subsys, "event=suppressed reason=other count=%u in=%us", rl->overflow, secs);
		lines++;
	}
	rl->n = 0;
	rl->overflow = 0;
	rl->open = false;
	return lines;
}
