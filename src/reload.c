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
#include "state.h"

struct slot {
	struct component c;
	void *staged;
};

/* An engine_call request: the caller's functions and its argument. */
struct call {
	void (*fn)(struct engine *, void *);
	void (*undo)(struct engine *, void *);
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
	uint32_t version;      /* the running version */
	uint32_t last_version; /* the highest number ever handed out */
	struct reload_stats stats;
	struct reload_history *hist; /* oldest first */
	size_t n_hist;

	/* A committed change kept open by reload_input.hold: counted and
	 * announced when it is released (applied) or reverted (failed). */
	bool holding;
	struct config *held_prev;
	enum reload_source held_source;
	uint32_t held_duration_us;
	uint64_t held_at_ms;

	struct observer {
		void (*fn)(void *ctx, const struct reload_event *ev);
		void *ctx;
	} observers[4];
	size_t n_observers;

	struct state *state; /* NULL: nothing survives a restart */

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
	char cwd[4096];

	/* Absolute, so that errors, the audit log and sssConfigFile name the
	 * file wherever they are read; symlinks are kept (a ConfigMap's path
	 * is the one to watch). */
	if (path[0] != '/' && getcwd(cwd, sizeof(cwd)))
		e->path = cfg_path_resolve(cwd, path);
	else
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
	e->n_observers = 0; /* whoever listened may be gone already */
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

static uint32_t since_us(uint64_t t0)
{
	uint64_t d = now_us() - t0;

	return d > UINT32_MAX ? UINT32_MAX : (uint32_t)d;
}

/* Count one attempt and remember its result (under the lock). */
static void record(struct engine *e, enum reload_source source, enum reload_result result,
		   const struct cfg_errors *errs, uint32_t duration_us)
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
	st->last_duration_us = duration_us;
	pthread_mutex_unlock(&e->lock);
	sbuf_free(&first);
}

void engine_add_observer(struct engine *e, void (*fn)(void *ctx, const struct reload_event *ev),
			 void *ctx)
{
	if (e->n_observers == sizeof(e->observers) / sizeof(e->observers[0]))
		abort(); /* a fixed set of observers: a programming error */
	e->observers[e->n_observers++] = (struct observer){ fn, ctx };
}

static void tell(struct engine *e, enum reload_event_kind kind, enum reload_source source,
		 enum reload_result result)
{
	struct reload_event ev = {
		.kind = kind,
		.source = source,
		.result = result,
		.version = e->version,
		.error = kind == RELOAD_EV_DONE ? e->stats.last_error : "",
	};
	for (size_t i = 0; i < e->n_observers; i++)
		e->observers[i].fn(e->observers[i].ctx, &ev);
}

/* Tell the observers about the attempt just recorded. */
static void announce(struct engine *e, enum reload_source source, enum reload_result result)
{
	tell(e, RELOAD_EV_DONE, source, result);
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
	h.version = e->version = ++e->last_version;
	e->hist = xrealloc(e->hist, (e->n_hist + 1) * sizeof(*e->hist));
	e->hist[e->n_hist++] = h;
	if (!e->holding)
		history_trim(e);
	pthread_mutex_unlock(&e->lock);
	return old;
}

/* Record the next version number as taken before anything is committed
 * (prepare stage): a change whose number cannot be recorded is refused, so
 * a number is never handed out twice, across UNDOs and restarts alike. */
static int reserve_version(struct engine *e, struct cfg_errors *errs)
{
	char err[512];

	if (!e->state || state_reserve(e->state, e->last_version + 1, err, sizeof(err)) == 0)
		return 0;
	cfg_errors_add(errs, e->path, 0, "reload.state_dir", NULL, "%s", err);
	return -1;
}

/* Store the newest history entry (a final change) and forget the stored
 * versions the history no longer keeps.  A failure is logged: the change
 * is applied and its number recorded already. */
static void persist_newest(struct engine *e)
{
	char err[512];

	if (!e->state || !e->n_hist)
		return;
	const struct reload_history *h = &e->hist[e->n_hist - 1];
	struct state_entry se = {
		.version = h->version,
		.applied_at = h->applied_at,
		.source = (int)h->source,
		.changed = h->changed,
		.text = h->cfg->text,
		.len = h->cfg->text_len,
	};
	memcpy(se.hash, h->hash, SHA256_LEN);
	if (state_save(e->state, &se, err, sizeof(err)) < 0) {
		char q[600];
		log_error("reload", "event=state_save_failed version=%u error=%s", h->version,
			  log_quote(err, q, sizeof(q)));
		return;
	}
	state_trim(e->state, e->hist[0].version);
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
	tell(e, RELOAD_EV_BEGIN, source, 0);

	enum cfg_status st = cfg_load(e->path, in->text, in->len, &cand, &errs);
	if (st == CFG_ERR_PARSE && in->tentative) {
		cfg_errors_free(&errs);
		tell(e, RELOAD_EV_IDLE, source, 0);
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
		record(e, source, result, NULL, since_us(t0));
		log_info("reload", "event=reload result=unchanged source=%s version=%u",
			 reload_source_name(source), e->version);
		announce(e, source, result);
		goto out;
	}

	if (prepare_all(e, e->current, cand, &errs) < 0) {
		result = RELOAD_APPLY_ERROR;
		goto rejected;
	}
	if (reserve_version(e, &errs) < 0) {
		abort_slots(e, e->n_slots);
		result = RELOAD_APPLY_ERROR;
		goto rejected;
	}
	commit_all(e);
	struct config *old = swap_current(e, cand, source, sbuf_str(&keys));
	cand = NULL;
	result = RELOAD_APPLIED;
	for (size_t i = 0; i < e->current->warnings.n; i++) {
		struct sbuf w = { 0 };
		cfg_warning_format(&e->current->warnings.v[i], &w);
		log_warning("reload", "event=config_warning version=%u warning=%s", e->version,
			    log_quote(sbuf_str(&w), q, sizeof(q)));
		sbuf_free(&w);
	}
	sha256_hex(e->current->hash, hex);
	hex[16] = '\0';
	log_info("reload", "event=reload result=applied version=%u source=%s duration_us=%llu hash=%s%s changed=%s",
		 e->version, reload_source_name(source), (unsigned long long)(now_us() - t0), hex,
		 in->hold ? " held=1" : "",
		 log_quote(source == RELOAD_SRC_STARTUP ? "" : sbuf_str(&audit), q, sizeof(q)));
	if (in->hold) {
		e->holding = true;
		e->held_prev = old;
		e->held_source = source;
		e->held_duration_us = since_us(t0);
		e->held_at_ms = now_ms();
	} else {
		abort_slots(e, e->n_slots);
		cfg_unref(old);
		record(e, source, result, NULL, since_us(t0));
		announce(e, source, result);
		persist_newest(e);
	}
	goto out;

rejected:
	record(e, source, result, &errs, since_us(t0));
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
	record(e, source, result, errs, 0);
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

void engine_revert(struct engine *e, const struct cfg_errors *why)
{
	struct sbuf line = { 0 };
	char q[1200];

	if (!e->holding)
		return;
	for (size_t i = e->n_slots; i-- > 0;)
		if (e->slots[i].staged && e->slots[i].c.revert)
			e->slots[i].c.revert(e->slots[i].c.ctx, e->slots[i].staged);
	abort_slots(e, e->n_slots);

	pthread_mutex_lock(&e->lock);
	struct config *undone = e->current;
	e->current = e->held_prev;
	e->n_hist--;
	reload_history_clear(&e->hist[e->n_hist]);
	/* The undone change's number stays taken (last_version): the next
	 * change gets a new one, so a number never means two configurations. */
	e->version = e->n_hist ? e->hist[e->n_hist - 1].version : 0;
	e->holding = false;
	e->held_prev = NULL;
	history_trim(e);
	pthread_mutex_unlock(&e->lock);
	if (why && why->n)
		cfg_error_format(&why->v[0], &line);
	log_info("reload", "event=revert source=%s version=%u reason=%s", reload_source_name(e->held_source),
		 e->version, log_quote(sbuf_str(&line), q, sizeof(q)));
	record(e, e->held_source, RELOAD_APPLY_ERROR, why, e->held_duration_us);
	announce(e, e->held_source, RELOAD_APPLY_ERROR);
	sbuf_free(&line);
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
	record(e, e->held_source, RELOAD_APPLIED, NULL, e->held_duration_us);
	announce(e, e->held_source, RELOAD_APPLIED);
	cfg_unref(prev);
	persist_newest(e);
}

int engine_hold_wait(struct engine *e)
{
	if (!e->holding)
		return 0;
	uint64_t age = now_ms() - e->held_at_ms;
	if (age < ENGINE_HOLD_MAX_MS)
		return (int)(ENGINE_HOLD_MAX_MS - age);
	log_warning("reload", "event=hold_expired source=%s version=%u held_ms=%llu action=release",
		    reload_source_name(e->held_source), e->version, (unsigned long long)age);
	engine_release(e);
	return 0;
}

/* ---- state across restarts ------------------------------------------- */

void engine_set_state(struct engine *e, struct state *st)
{
	const struct state_entry *v;
	size_t n = state_entries(st, &v);

	e->state = st;
	pthread_mutex_lock(&e->lock);
	if (state_last_version(st) > e->last_version)
		e->last_version = state_last_version(st);
	pthread_mutex_unlock(&e->lock);
	for (size_t i = 0; i < n; i++) {
		struct cfg_errors errs = { 0 };
		struct config *c = NULL;
		if (cfg_load(e->path, v[i].text, v[i].len, &c, &errs) != CFG_OK) {
			struct sbuf first = { 0 };
			char q[600];
			if (errs.n)
				cfg_error_format(&errs.v[0], &first);
			log_warning("reload", "event=state_version_skipped version=%u error=%s", v[i].version,
				    log_quote(sbuf_str(&first), q, sizeof(q)));
			sbuf_free(&first);
			cfg_errors_free(&errs);
			continue;
		}
		struct reload_history h = {
			.version = v[i].version,
			.applied_at = v[i].applied_at,
			.source = (enum reload_source)v[i].source,
			.changed = xstrdup(v[i].changed),
			.cfg = c,
		};
		memcpy(h.hash, v[i].hash, SHA256_LEN);
		pthread_mutex_lock(&e->lock);
		e->hist = xrealloc(e->hist, (e->n_hist + 1) * sizeof(*e->hist));
		e->hist[e->n_hist++] = h;
		pthread_mutex_unlock(&e->lock);
	}
	log_info("reload", "event=state dir=%s last_version=%u history=%zu", state_dir(st), e->last_version,
		 e->n_hist);
}

uint32_t engine_start_last_good(struct engine *e, struct cfg_errors *errs)
{
	if (e->current)
		return e->version;
	if (!e->n_hist) {
		cfg_errors_add(errs, e->path, 0, NULL, NULL, "no earlier version to start with%s",
			       e->state ? "" : " (reload.state_dir is not in use)");
		return 0;
	}
	struct config *c = cfg_ref(e->hist[e->n_hist - 1].cfg);
	if (prepare_all(e, NULL, c, errs) < 0) {
		cfg_unref(c);
		return 0;
	}
	commit_all(e);
	abort_slots(e, e->n_slots);
	pthread_mutex_lock(&e->lock);
	e->current = c;
	e->version = e->hist[e->n_hist - 1].version;
	history_trim(e);
	pthread_mutex_unlock(&e->lock);
		return e->version;
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

static void run_undo(void *owner, void *arg)
{
	struct call *c = arg;

	c->undo(owner, c->arg);
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
	return engine_call_undo(e, fn, NULL, arg, free_arg, timeout_ms);
}

int engine_call_undo(struct engine *e, void (*fn)(struct engine *, void *), void (*undo)(struct engine *, void *),
		     void *arg, void (*free_arg)(void *), int timeout_ms)
{
	struct call *c = xcalloc(1, sizeof(*c));

	c->fn = fn;
	c->undo = undo;
	c->arg = arg;
	c->free_arg = free_arg;
	return mailbox_call_undo(&e->calls, run_call, undo ? run_undo : NULL, c, free_call, timeout_ms) == 0
		       ? 0
		       : -ETIMEDOUT;
}

void engine_post(struct engine *e, void (*fn)(struct engine *, void *), void *arg, void (*free_arg)(void *))
{
	struct call *c = xcalloc(1, sizeof(*c));

	c->fn = fn;
	c->arg = arg;
	c->free_arg = free_arg;
	mailbox_post(&e->calls, run_call, c, free_call);
}

int engine_call_fd(const struct engine *e)
{
	return mailbox_fd(&e->calls);
}

void engine_run_calls(struct engine *e)
{
	mailbox_run(&e->calls, e);
}
