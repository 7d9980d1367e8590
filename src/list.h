/* SPDX-License-Identifier: MIT */
/*
 * list.h - the one list implementation: <sys/queue.h>'s TAILQ, the one
 * container_of, and the one fairness rotation.
 *
 * Header only, no state.  Every intrusive list in the program is a TAILQ
 * and every "which struct holds this member" is container_of, so that no
 * module walks a hand-made list of its own.
 */
#ifndef SSS_LIST_H
#define SSS_LIST_H

#include <stddef.h>
#include <sys/queue.h>

/* glibc's <sys/queue.h> lacks the _SAFE walk (removing var is fine). */
#ifndef TAILQ_FOREACH_SAFE
#define TAILQ_FOREACH_SAFE(var, head, field, tvar) \
	for ((var) = TAILQ_FIRST(head); (var) && ((tvar) = TAILQ_NEXT(var, field), 1); (var) = (tvar))
#endif

/* The struct of type that holds member at ptr. */
#define container_of(ptr, type, member) ((type *)(void *)((char *)(ptr) - offsetof(type, member)))

/* Move elm to the tail of head: whoever was served first goes last next
 * time.  elm must be on head. */
#define TAILQ_ROTATE(head, elm, field)          \
	do {                                           \
		if (TAILQ_NEXT(elm, field)) {          \
			TAILQ_REMOVE(head, elm, field);    \
			TAILQ_INSERT_TAIL(head, elm, field); \
		}                                      \
	} while (0)

#endif
