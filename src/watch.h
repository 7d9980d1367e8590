/* SPDX-License-Identifier: MIT */
/*
 * watch.h - the file-watch trigger: inotify on the directories of the
 * configuration file, its @includes and the certificate, key and CA files
 * (and of their symlink targets), a debounce, and a content fingerprint so
 * that one save gives exactly one reload.
 *
 * It only decides *when* the files changed; it never parses or validates:
 * it hands the bytes to engine_reload(RELOAD_SRC_FILE).  Runs on the
 * control thread, driven by the loop through watch_fd/watch_timeout/
 * watch_handle/watch_tick; all time comes in as an argument (testable with
 * an injected clock).
 */
#ifndef SSS_WATCH_H
#define SSS_WATCH_H

#include <stdbool.h>
#include <stdint.h>

#include "util.h"

struct engine;
struct component;

/* Numbered as in SSSONECTOR-MIB's sssWatchState. */
enum watch_state {
	WATCH_WATCHING = 1,
	WATCH_FILE_MISSING = 2,
	WATCH_DISABLED = 3,
	WATCH_FAILED = 4,
};

/*
 * The debounce, on its own so it can be tested without inotify: an arming
 * event (IN_CLOSE_WRITE, IN_MOVED_TO, a create or delete of a watched
 * name) starts a quiet period; any further event while armed restarts it;
 * the action is due once debounce_ms pass with no event.
 */
struct debounce {
	bool armed;
	uint64_t due_ms;
};
void debounce_event(struct debounce *d, uint64_t now_ms, unsigned debounce_ms, bool arming);
bool debounce_due(const struct debounce *d, uint64_t now_ms);
/* ms until due (0 if due now), or -1 if not armed. */
int debounce_timeout(const struct debounce *d, uint64_t now_ms);
void debounce_clear(struct debounce *d);

struct watch;

struct watch *watch_new(struct engine *e);
void watch_free(struct watch *w);

/* The component that applies reload.watch and reload.debounce_ms and
 * follows the set of watched files of each new configuration. */
const struct component *watch_component(struct watch *w);

/* inotify descriptor to poll (-1 while disabled). */
int watch_fd(const struct watch *w);
/* Read and account the pending inotify events. */
void watch_handle(struct watch *w, uint64_t now_ms);
/* ms until watch_tick has work, or -1. */
int watch_timeout(const struct watch *w, uint64_t now_ms);
/* Do what is due: a debounced reload, a stability re-read, the slow
 * safety-net comparison. */
void watch_tick(struct watch *w, uint64_t now_ms);

enum watch_state watch_state(const struct watch *w);
uint32_t watch_events(const struct watch *w);

#endif
