/* SPDX-License-Identifier: MIT */
/*
 * reload.c - the validate-and-apply engine.
 *
 * Every configuration change goes through engine_reload(): load a
 * candidate, check it (schema, resources, change rules), diff it against
 * the running snapshot, prepare every component, then commit all or abort
 * all.  Nothing that is running is touched until every prepare succeeded.
 * It keeps the version, the hash, the counters, the history and writes the
 * one audit line per attempt.
 *
 * It runs on the control thread only.  The state other threads read
 * (current snapshot, version, counters, history) is guarded by a mutex;
 * other threads ask for work through engine_call().  It must never call
 * into a component outside prepare/commit/revert/abort, and never log a
 * secret (cfg_diff and cfg_error_format mask them).
 */
#include "reload.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "mailbox.h"

struct slot {
	struct component c;
	void *staged;
};

/* An engine_call request: the caller's function and its argument. */
struct call {
	void (*fn)(struct engine *, void *);
	void *arg;
	void (*free_arg)(void *);
};

struct engine {
	char *path;

	struct slot *slots;
	size_t n_slots;

	/* Read by other threads: guarded by lock. */
	pthread_mutex_t lock;
	struct config *current;
	uint32_t version;
	struct reload_stats stats;
	struct reload_history *hist; /* oldest first */
	size_t n_hist;

	/* A committed change kept open by reload_input.hold. */
	bool holding;
	struct config *held_prev;

	void (*observer)(void *ctx, const struct reload_event *ev);
	void *observer_ctx;

	/* engine_call() requests from other threads. */
	struct mailbox calls;
};

static const char *const source_names[] = { "?", "startup", "file", "signal", "snmp", "rollback" };
static const char *const result_names[] = { "?", "applied", "parse_error", "validation_error",
					    "apply_error", "unchanged" };

const char *reload_source_name(enum reload_source s)
{
	return s >= RELOAD_SRC_STARTUP && s <= RELOAD_SRC_ROLLBACK ? source_names[s] : "?";
}

const char *reload_result_name(enum reload_result r)
{
	return r >= RELOAD_APPLIED && r <= RELOAD_UNCHANGED ? result_names[r] : "?";
}

void reload_outcome_free(struct reload_outcome *o)
{
	if (!o)
		return;
	cfg_errors_free(&o->errors);
	free(o->changed);
	o->changed = NULL;
}

struct engine *engine_new(const char *path)
{
	struct engine *e = xcalloc(1, sizeof(*e));

	e->path = xstrdup(path);
	pthread_mutex_init(&e->lock, NULL);
	if (mailbox_init(&e->calls) < 0)
		abort();
	return e;
}

void reload_history_clear(struct reload_history *h)
{
	free(h->changed);
	cfg_unref(h->cfg);
	h->changed = NULL;
	h->cfg = NULL;
}

void engine_free(struct engine *e)
{
	if (!e)
		return;
	engine_release(e);
	/* Nobody runs the queue any more: what is left is dropped. */
	mailbox_destroy(&e->calls);
	for (size_t i = 0; i < e->n_hist; i++)
		reload_history_clear(&e->hist[i]);
	free(e->hist);
	cfg_unref(e->current);
	free(e->slots);
	pthread_mutex_destroy(&e->lock);
	free(e->path);
	free(e);
}

void engine_register(struct engine *e, const struct component *c)
{
	e->slots = xrealloc(e->slots, (e->n_slots + 1) * sizeof(*e->slots));
	e->slots[e->n_slots].c = *c;
	e->slots[e->n_slots].staged = NULL;
	e->n_slots++;
}

const char *engine_path(const struct engine *e)
{
	return e->path;
}

struct config *engine_current(struct engine *e)
{
	pthread_mutex_lock(&e->lock);
	struct config *c = e->current ? cfg_ref(e->current) : NULL;
	pthread_mutex_unlock(&e->lock);
	return c;
}

uint32_t engine_version(struct engine *e)
{
	pthread_mutex_lock(&e->lock);
	uint32_t v = e->version;
	pthread_mutex_unlock(&e->lock);
	return v;
}

bool engine_holding(const struct engine *e)
{
	return e->holding;
}

/* ---- the pieces of one attempt --------------------------------------- */

/* Drop the oldest history entries beyond the running reload.history. */
static void history_trim(struct engine *e)
{
	size_t keep = e->current ? (size_t)e->current->reload.history : 1;

	if (e->n_hist <= keep)
		return;
	size_t drop = e->n_hist - keep;
	for (size_t i = 0; i < drop; i++)
		reload_history_clear(&e->hist[i]);
	memmove(e->hist, e->hist + drop, keep * sizeof(*e->hist));
	e->n_hist = keep;
}

/* Abort every slot from n-1 down to 0 (the staged objects are freed). */
static void abort_slots(struct engine *e, size_t n)
{
	while (n-- > 0) {
		struct slot *s = &e->slots[n];
		if (s->staged && s->c.abort)
			s->c.abort(s->c.ctx, s->staged);
		s->staged = NULL;
	}
}

/* Prepare every component for old -> cand.  On failure everything prepared
 * so far is aborted in reverse order and -1 returned. */
static int prepare_all(struct engine *e, const struct config *old, const struct config *cand,
		       struct cfg_errors *errs)
{
	for (size_t i = 0; i < e->n_slots; i++) {
		struct slot *s = &e->slots[i];
		s->staged = NULL;
		if (s->c.prepare(s->c.ctx, old, cand, &s->staged, errs) < 0) {
			if (errs->n == 0)
				cfg_errors_add(errs, e->path, 0, NULL, NULL, "%s: could not prepare",
					       s->c.name);
			abort_slots(e, i + 1);
			log_debug("reload", "event=prepare_failed component=%s", s->c.name);
			return -1;
		}
	}
	return 0;
}

static void commit_all(struct engine *e)
{
	for (size_t i = 0; i < e->n_slots; i++)
		if (e->slots[i].staged && e->slots[i].c.commit)
			e->slots[i].c.commit(e->slots[i].c.ctx, e->slots[i].staged);
}

/* Count one attempt and remember its result (under the lock). */
static void record(struct engine *e, enum reload_source source, enum reload_result result,
		   const struct cfg_errors *errs, uint64_t t0)
{
	struct reload_stats *st = &e->stats;
	struct sbuf first = { 0 };

	if (errs && errs->n)
		cfg_error_format(&errs->v[0], &first);
	pthread_mutex_lock(&e->lock);
	st->attempts++;
	switch (result) {
	case RELOAD_APPLIED:
		st->successes++;
		break;
	case RELOAD_UNCHANGED:
		st->unchanged++;
		break;
	case RELOAD_PARSE_ERROR:
		st->failures++;
		st->parse_errors++;
		break;
	case RELOAD_VALIDATION_ERROR:
		st->failures++;
		st->validation_errors++;
		break;
	case RELOAD_APPLY_ERROR:
		st->failures++;
		st->apply_errors++;
		break;
	}
	st->last_result = result;
	st->last_source = source;
	snprintf(st->last_error, sizeof(st->last_error), "%s", sbuf_str(&first));
	clock_gettime(CLOCK_REALTIME, &st->last_attempt_at);
	if (result == RELOAD_APPLIED)
		st->last_success_at = st->last_attempt_at;
	uint64_t d = now_us() - t0;
	st->last_duration_us = d > UINT32_MAX ? UINT32_MAX : (uint32_t)d;
	pthread_mutex_unlock(&e->lock);
	sbuf_free(&first);
}

void engine_set_observer(struct engine *e, void (*fn)(void *ctx, const struct reload_event *ev),
			 void *ctx)
{
	e->observer = fn;
	e->observer_ctx = ctx;
}

/* Tell the observer about the attempt just recorded. */
static void announce(struct engine *e, enum reload_source source, enum reload_result result)
{
	if (!e->observer)
		return;
	struct reload_event ev = {
		.source = source,
		.result = result,
		.version = e->version,
		.error = e->stats.last_error,
		.held = e->holding,
	};
	e->observer(e->observer_ctx, &ev);
}

static void log_rejected(struct engine *e, enum reload_source source, enum reload_result result,
			 const struct cfg_errors *errs)
{
	static const char *const stage[] = { "?", "?", "parse", "validate", "apply", "?" };
	struct sbuf line = { 0 };
	char q[1200];

	if (errs->n)
		cfg_error_format(&errs->v[0], &line);
	log_error("reload", "event=reload result=rejected source=%s stage=%s version=%u error=%s errors=%zu",
		  reload_source_name(source), stage[result], e->version,
		  log_quote(sbuf_str(&line), q, sizeof(q)), errs->n);
	for (size_t i = 0; i < errs->n; i++) {
		sbuf_reset(&line);
		cfg_error_format(&errs->v[i], &line);
		log_error("reload", "event=reload_error source=%s error=%s", reload_source_name(source),
			  log_quote(sbuf_str(&line), q, sizeof(q)));
	}
	sbuf_free(&line);
}

/* Make cand the running snapshot (takes the caller's reference) and add
 * the history entry.  Returns the snapshot it replaced (reference). */
static struct config *swap_current(struct engine *e, struct config *cand, enum reload_source source,
				   const char *keys)
{
	struct reload_history h = {
		.source = source,
		.changed = xstrdup(keys),
		.cfg = cfg_ref(cand),
	};

	memcpy(h.hash, cand->hash, SHA256_LEN);
	clock_gettime(CLOCK_REALTIME, &h.applied_at);
	pthread_mutex_lock(&e->lock);
	struct config *old = e->current;
	e->current = cand;
	h.version = ++e->version;
	e->hist = xrealloc(e->hist, (e->n_hist + 1) * sizeof(*e->hist));
	e->hist[e->n_hist++] = h;
	if (!e->holding)
		history_trim(e);
	pthread_mutex_unlock(&e->lock);
	return old;
}

enum reload_result engine_reload(struct engine *e, enum reload_source source,
				 const struct reload_input *in, struct reload_outcome *out)
{
	static const struct reload_input from_file = { 0 };
	enum reload_result result = RELOAD_VALIDATION_ERROR;
	struct cfg_errors errs = { 0 };
	struct sbuf audit = { 0 }, keys = { 0 };
	struct config *cand = NULL;
	uint64_t t0 = now_us();
	char q[2048], hex[2 * SHA256_LEN + 1];

	if (!in)
		in = &from_file;
	/* A new attempt makes a held change final. */
	engine_release(e);

	enum cfg_status st = cfg_load(e->path, in->text, in->len, &cand, &errs);
	if (st == CFG_ERR_PARSE && in->tentative) {
		cfg_errors_free(&errs);
		if (out) {
			memset(out, 0, sizeof(*out));
			out->result = RELOAD_PARSE_ERROR;
			out->version = e->version;
		}
		return RELOAD_PARSE_ERROR;
	}
	if (st != CFG_OK) {
		result = st == CFG_ERR_INVALID ? RELOAD_VALIDATION_ERROR : RELOAD_PARSE_ERROR;
		goto rejected;
	}
	if (e->current && cfg_check_change(e->current, cand, &errs) > 0)
		goto rejected;

	cfg_diff(e->current, cand, &audit, &keys);
	if (e->current && keys.len == 0) {
		result = RELOAD_UNCHANGED;
		record(e, source, result, NULL, t0);
		log_info("reload", "event=reload result=unchanged source=%s version=%u",
			 reload_source_name(source), e->version);
		announce(e, source, result);
		goto out;
	}

	if (prepare_all(e, e->current, cand, &errs) < 0) {
		result = RELOAD_APPLY_ERROR;
		goto rejected;
	}
	commit_all(e);
	struct config *old = swap_current(e, cand, source, sbuf_str(&keys));
	cand = NULL;
	if (in->hold) {
		e->holding = true;
		e->held_prev = old;
	} else {
		abort_slots(e, e->n_slots);
		cfg_unref(old);
	}
	result = RELOAD_APPLIED;
	record(e, source, result, NULL, t0);
	sha256_hex(e->current->hash, hex);
	hex[16] = '\0';
	log_info("reload", "event=reload result=applied version=%u source=%s duration_us=%llu hash=%s changed=%s",
		 e->version, reload_source_name(source), (unsigned long long)(now_us() - t0), hex,
		 log_quote(source == RELOAD_SRC_STARTUP ? "" : sbuf_str(&audit), q, sizeof(q)));
	announce(e, source, result);
	goto out;

rejected:
	record(e, source, result, &errs, t0);
	log_rejected(e, source, result, &errs);
	announce(e, source, result);
out:
	if (out) {
		out->result = result;
		out->version = e->version;
		out->errors = errs;
		out->changed = result == RELOAD_APPLIED ? xstrdup(sbuf_str(&audit)) : NULL;
	} else {
		cfg_errors_free(&errs);
	}
	cfg_unref(cand);
	sbuf_free(&audit);
	sbuf_free(&keys);
	return result;
}

void engine_reject(struct engine *e, enum reload_source source, enum reload_result result,
		   const struct cfg_errors *errs)
{
	record(e, source, result, errs, now_us());
	log_rejected(e, source, result, errs);
	announce(e, source, result);
}

enum reload_result engine_validate(struct engine *e, const void *text, size_t len,
				   struct cfg_errors *errs)
{
	struct config *cand = NULL;
	enum reload_result r = RELOAD_APPLIED;

	switch (cfg_load(e->path, text, len, &cand, errs)) {
	case CFG_OK:
		break;
	case CFG_ERR_INVALID:
		return RELOAD_VALIDATION_ERROR;
	default:
		return RELOAD_PARSE_ERROR;
	}
	if (e->current && cfg_check_change(e->current, cand, errs) > 0)
		r = RELOAD_VALIDATION_ERROR;
	else if (e->current && cfg_diff(e->current, cand, NULL, NULL) == 0)
		r = RELOAD_UNCHANGED;
	cfg_unref(cand);
	return r;
}

void engine_revert(struct engine *e)
{
	if (!e->holding)
		return;
	for (size_t i = e->n_slots; i-- > 0;)
		if (e->slots[i].staged && e->slots[i].c.revert)
			e->slots[i].c.revert(e->slots[i].c.ctx, e->slots[i].staged);
	abort_slots(e, e->n_slots);

	pthread_mutex_lock(&e->lock);
	struct config *undone = e->current;
	e->current = e->held_prev;
	e->version--;
	e->n_hist--;
	reload_history_clear(&e->hist[e->n_hist]);
	e->holding = false;
	e->held_prev = NULL;
	history_trim(e);
	pthread_mutex_unlock(&e->lock);
	log_info("reload", "event=revert version=%u", e->version);
	cfg_unref(undone);
}

void engine_release(struct engine *e)
{
	if (!e->holding)
		return;
	abort_slots(e, e->n_slots);
	pthread_mutex_lock(&e->lock);
	struct config *prev = e->held_prev;
	e->held_prev = NULL;
	e->holding = false;
	history_trim(e);
	pthread_mutex_unlock(&e->lock);
	cfg_unref(prev);
}

/* ---- state for other threads ----------------------------------------- */

void engine_stats(struct engine *e, struct reload_stats *st)
{
	pthread_mutex_lock(&e->lock);
	*st = e->stats;
	pthread_mutex_unlock(&e->lock);
}

size_t engine_history(struct engine *e, struct reload_history **hist)
{
	pthread_mutex_lock(&e->lock);
	size_t n = e->n_hist;
	struct reload_history *h = xcalloc(n ? n : 1, sizeof(*h));
	for (size_t i = 0; i < n; i++) {
		h[i] = e->hist[n - 1 - i];
		h[i].changed = xstrdup(h[i].changed);
		h[i].cfg = cfg_ref(h[i].cfg);
	}
	pthread_mutex_unlock(&e->lock);
	*hist = h;
	return n;
}

void engine_history_free(struct reload_history *hist, size_t n)
{
	for (size_t i = 0; i < n; i++)
		reload_history_clear(&hist[i]);
	free(hist);
}

int engine_history_find(struct engine *e, uint32_t version, struct reload_history *h)
{
	int ret = -1;

	pthread_mutex_lock(&e->lock);
	for (size_t i = 0; i < e->n_hist; i++) {
		if (e->hist[i].version != version)
			continue;
		*h = e->hist[i];
		h->changed = xstrdup(h->changed);
		h->cfg = cfg_ref(h->cfg);
		ret = 0;
		break;
	}
	pthread_mutex_unlock(&e->lock);
	return ret;
}

/* ---- engine_call ------------------------------------------------------ */

static void run_call(void *owner, void *arg)
{
	struct call *c = arg;

	c->fn(owner, c->arg);
}

static void free_call(void *arg)
{
	struct call *c = arg;

	if (c->free_arg)
		c->free_arg(c->arg);
	free(c);
}

int engine_call(struct engine *e, void (*fn)(struct engine *, void *), void *arg,
		void (*free_arg)(void *), int timeout_ms)
{
	struct call *c = xcalloc(1, sizeof(*c));

	c->fn = fn;
	c->arg = arg;
	c->free_arg = free_arg;
	return mailbox_call(&e->calls, run_call, c, free_call, timeout_ms) == 0 ? 0 : -ETIMEDOUT;
}

int engine_call_fd(const struct engine *e)
{
	return mailbox_fd(&e->calls);
}

void engine_run_calls(struct engine *e)
{
	mailbox_run(&e->calls, e);
}
