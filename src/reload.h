/* SPDX-License-Identifier: MIT */
/*
 * reload.h - the one engine every configuration change goes through.
 *
 * load -> validate (schema, resources, change rules) -> prepare every
 * component -> commit all, or abort all and leave everything as it was.
 * Startup, the file watch, SIGHUP, SNMP and rollback all call
 * engine_reload(); they only say where the candidate comes from.
 *
 * The engine and every component's prepare/commit/abort run on the control
 * thread.  Other threads reach it through engine_call() (a queue with a time
 * limit) and read its state through engine_status(), which copies it under
 * a lock.
 */
#ifndef SSS_RELOAD_H
#define SSS_RELOAD_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "config.h"

/* Numbered as in SSSONECTOR-MIB's SssReloadSource. */
enum reload_source {
	RELOAD_SRC_STARTUP = 1,
	RELOAD_SRC_FILE = 2,
	RELOAD_SRC_SIGNAL = 3,
	RELOAD_SRC_SNMP = 4,
	RELOAD_SRC_ROLLBACK = 5,
};

/* Numbered as in SSSONECTOR-MIB's sssReloadLastResult. */
enum reload_result {
	RELOAD_APPLIED = 1,
	RELOAD_PARSE_ERROR = 2,
	RELOAD_VALIDATION_ERROR = 3,
	RELOAD_APPLY_ERROR = 4,
	RELOAD_UNCHANGED = 5,
};

const char *reload_source_name(enum reload_source s);
const char *reload_result_name(enum reload_result r);

/*
 * A component that reacts to configuration.  prepare() does everything that
 * can fail and keeps the result in *staged; it must not touch what is
 * running.  commit() swaps the staged state in and keeps what it replaced
 * in the staged object; it cannot fail.  revert() swaps back after a
 * commit (cannot fail).  abort() frees whatever the staged object holds at
 * that moment: the prepared state (after a failed reload), or the replaced
 * state (after commit, when the change is final), or the new state (after
 * revert).  A component with nothing to do for a change may leave *staged
 * NULL; commit/revert/abort are then not called.
 */
struct component {
	const char *name;
	int (*prepare)(void *ctx, const struct config *old, const struct config *new_cfg,
		       void **staged, struct cfg_errors *errs);
	void (*commit)(void *ctx, void *staged);
	void (*revert)(void *ctx, void *staged);
	void (*abort)(void *ctx, void *staged);
	void *ctx;
};

struct reload_stats {
	uint32_t attempts, successes, failures;
	uint32_t parse_errors, validation_errors, apply_errors, unchanged;
	enum reload_result last_result; /* 0 before the first attempt */
	enum reload_source last_source;
	char last_error[512];           /* first error, formatted; "" after success */
	struct timespec last_attempt_at, last_success_at; /* CLOCK_REALTIME */
	uint32_t last_duration_us;
};

/* One applied version. */
struct reload_history {
	uint32_t version;
	struct timespec applied_at;
	enum reload_source source;
	uint8_t hash[SHA256_LEN];
	char *changed;            /* "k1,k2" ("" for the startup version) */
	struct config *cfg;       /* the snapshot, with the file bytes it came from */
};

/* What a caller gets back from one attempt. */
struct reload_outcome {
	enum reload_result result;
	uint32_t version;         /* the running version afterwards */
	struct cfg_errors errors; /* empty unless rejected; free with cfg_errors_free */
	char *changed;            /* audit diff (malloc'd, may be NULL) */
};
void reload_outcome_free(struct reload_outcome *o);

/* Where the candidate comes from. */
struct reload_input {
	const void *text;  /* the file's bytes; NULL: read the configuration file */
	size_t len;
	bool hold;         /* keep the transaction open for engine_revert/engine_release */
	/* When set and the file does not parse, return RELOAD_PARSE_ERROR without
	 * counting an attempt or logging: the file watch re-reads after a quiet
	 * period before it reports a parse error (a writer may still be writing). */
	bool tentative;
};

struct engine;

/* path is made absolute with the working directory. */
struct engine *engine_new(const char *path);
void engine_free(struct engine *e);

/* Components are prepared in registration order and aborted in reverse. */
void engine_register(struct engine *e, const struct component *c);

/*
 * The one entry.  Loads the candidate (from in->text or the file), checks
 * it, diffs it against the running snapshot, and, if anything changed,
 * prepares every component and commits all or aborts all.  Counts and logs
 * the attempt (one audit line), records history.  RELOAD_SRC_STARTUP must
 * be the first call and is the only one allowed with no running config.
 * out may be NULL.
 */
enum reload_result engine_reload(struct engine *e, enum reload_source source,
				 const struct reload_input *in, struct reload_outcome *out);

/* Count, log and announce an attempt refused before it reached the
 * engine's own checks (an SNMP SET whose value cannot be written back):
 * errs says why; result is how it counts.  Touches nothing else. */
void engine_reject(struct engine *e, enum reload_source source, enum reload_result result,
		   const struct cfg_errors *errs);

/* Validate a candidate against the schema, resources and the running
 * configuration; touch nothing, count nothing.  Returns the result an
 * engine_reload of it would get before prepare (APPLIED means valid). */
enum reload_result engine_validate(struct engine *e, const void *text, size_t len,
				   struct cfg_errors *errs);

/*
 * A change applied with reload_input.hold is counted and announced only
 * when its fate is known.  engine_revert undoes it (swaps every component
 * back, restores the previous snapshot, version and history; cannot fail;
 * does nothing if nothing is held) and counts the attempt as an apply
 * error with why (may be NULL) as its reason; the running version goes
 * back to the previous one, but the undone number stays taken: the next
 * change gets a new one.  engine_release makes it final and counts it as
 * applied; the next attempt releases it too.
 */
void engine_revert(struct engine *e, const struct cfg_errors *why);
void engine_release(struct engine *e);

/*
 * While a change is held (an SNMP SET between ACTION and COMMIT/UNDO) the
 * control loop starts no other attempt: a file edit or SIGHUP would make
 * the change final before an UNDO could revert it.  Returns 0 when
 * nothing is held, else the ms left before the hold expires; a hold older
 * than ENGINE_HOLD_MAX_MS (the master agent never finished the SET) is
 * released here, logged, and 0 returned.
 */
#define ENGINE_HOLD_MAX_MS 5000
int engine_hold_wait(struct engine *e);
bool engine_holding(const struct engine *e);

/* The running snapshot (a new reference: cfg_unref it). */
struct config *engine_current(struct engine *e);
uint32_t engine_version(struct engine *e);
const char *engine_path(const struct engine *e);

/* A consistent copy of the counters, and of the history (newest first):
 * *hist is malloc'd, each entry's changed malloc'd and cfg referenced; free
 * with engine_history_free. */
void engine_stats(struct engine *e, struct reload_stats *st);
size_t engine_history(struct engine *e, struct reload_history **hist);
void engine_history_free(struct reload_history *hist, size_t n);
/* Copy the history entry for version into *h (changed malloc'd, cfg
 * referenced; release with reload_history_clear) and return 0, or -1. */
int engine_history_find(struct engine *e, uint32_t version, struct reload_history *h);
void reload_history_clear(struct reload_history *h);

/* What observers hear, on the control thread:
 *   RELOAD_EV_BEGIN   an attempt starts (before the file is read);
 *   RELOAD_EV_DONE    after every counted attempt (after the audit line); a
 *                     held change when it is released or reverted;
 *   RELOAD_EV_IDLE    an attempt ended without being counted (a tentative
 *                     parse error: the watch reads the file again later). */
enum reload_event_kind { RELOAD_EV_BEGIN, RELOAD_EV_DONE, RELOAD_EV_IDLE };
struct reload_event {
	enum reload_event_kind kind;
	enum reload_source source;
	enum reload_result result; /* DONE only */
	uint32_t version;  /* running version afterwards */
	const char *error; /* first error formatted, "" if none */
};

/* Observers (the SNMP notifications, the service manager), called in the
 * order they were added; fn must not call the engine. */
void engine_add_observer(struct engine *e, void (*fn)(void *ctx, const struct reload_event *ev),
			 void *ctx);

/* ---- state that survives restarts ----------------------------------- */

struct state;

/*
 * Keep versions and history in st (state.c; the caller keeps owning it and
 * closes it after engine_free).  Call before the startup reload: the
 * stored versions whose text still loads become the history (the others
 * are logged and left out), and version numbers continue after the
 * highest one ever taken.  From then on every version number is recorded
 * as taken before its change is committed (a failure to record it rejects
 * the change at prepare), and every applied version is stored once it is
 * final.
 */
void engine_set_state(struct engine *e, struct state *st);

/*
 * After a rejected startup reload: run the newest history version (the last
 * one applied before the restart) under its own number.  Counts nothing,
 * so the counters still say why the file was rejected.  Returns that
 * version, or 0 with the reason in errs (no stored version, or it cannot
 * be prepared now).
 */
uint32_t engine_start_last_good(struct engine *e, struct cfg_errors *errs);

/* ---- requests from other threads ------------------------------------ */

/*
 * Run fn(e, arg) on the control thread and wait at most timeout_ms for it.
 * Returns 0 when fn ran to completion, -ETIMEDOUT otherwise: a request
 * that had not started by then is dropped; one that had started finishes
 * and its result is discarded.  arg is freed with free_arg (may be NULL)
 * by whichever side is last, so the caller must not touch arg after a
 * timeout.  Requests are never merged: each runs on its own.
 */
int engine_call(struct engine *e, void (*fn)(struct engine *, void *), void *arg,
		void (*free_arg)(void *), int timeout_ms);
/*
 * engine_call, and when the caller stops waiting while fn is running (the
 * caller is told -ETIMEDOUT, so it must not be left in place), undo(e,
 * arg) runs on the control thread right after fn, before anything else
 * can run there.  A request that had not started is dropped as before.
 */
int engine_call_undo(struct engine *e, void (*fn)(struct engine *, void *), void (*undo)(struct engine *, void *),
		     void *arg, void (*free_arg)(void *), int timeout_ms);

/* Queue fn(e, arg) for the control thread and return at once; it runs in
 * order with the other requests and is never dropped (arg is freed with
 * free_arg after it ran, or when the engine is freed). */
void engine_post(struct engine *e, void (*fn)(struct engine *, void *), void *arg, void (*free_arg)(void *));

/* The control loop polls this eventfd and calls engine_run_calls() when
 * it is readable. */
int engine_call_fd(const struct engine *e);
void engine_run_calls(struct engine *e);

#endif
