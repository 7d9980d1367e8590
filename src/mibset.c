/* SPDX-License-Identifier: MIT */
/*
 * mibset.c - SNMP SET: one PDU is one engine request (source snmp, or
 * rollback for sssConfigRollback), never merged with another.
 *
 *   RESERVE1  each varbind: writable? type, length, range (notWritable,
 *             noCreation, wrongType, wrongLength, wrongValue); reload or
 *             rollback together with other objects: inconsistentValue.
 *   RESERVE2  the candidate (the file's bytes with every value spliced
 *             in) is validated by the engine, and the file must be
 *             writable and hold the running version (or differ from it
 *             only in comments and layout: then the values are spliced
 *             into the file as it is): else inconsistentValue or
 *             resourceUnavailable, the reason counted and shown in
 *             sssReloadLastError.
 *   ACTION    the engine applies the candidate again from the running
 *             state (a file reload may have landed), holding the change
 *             open; the write-back component writes the file inside the
 *             engine's prepare.  Any failure: commitFailed, nothing changed.
 *   UNDO      engine_revert (the component restores the old bytes).
 *   COMMIT    engine_release, then the sssReloadApplied notification.
 *
 * The phases run on the SNMP thread and reach the engine only through
 * engine_call() with m->call_timeout_ms; the functions named fn_* run on
 * the control thread.  A refusal the engine itself cannot see (a value in
 * an @include, a file that differs or cannot be written) is counted with
 * engine_reject(): counters, audit line, sssReloadLastError and the
 * sssReloadRejected notification then come from the engine like for any
 * other rejected attempt.
 *
 * Two SET PDUs are not expected to interleave (snmpd runs one SET at a
 * time); if another attempt lands between ACTION and COMMIT it makes the
 * held change final, and a later UNDO of this PDU then does nothing.
 */
#include "mibpriv.h"

#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "log.h"
#include "util.h"
#include "writeback.h"

#define TXN_DATA "sssonector-set"
#define TXN_MAX 16

struct txn {
	_Atomic int refs;
	struct mib *m;
	size_t n;
	struct {
		int obj;
		long value;
	} vb[TXN_MAX];
	int special; /* O_RELOAD or O_ROLLBACK when the PDU is one of those, else -1 */
	uint32_t rollback_version;

	/* SNMP thread only. */
	bool r2_done, action_done, undo_done, commit_done;
	bool action_ok;
	bool has_lock, has_settings; /* sssConfigSpinLock; any other object */

	/* Written by the control thread in a call, read after it returned. */
	int status;
	char err_key[64];
	enum reload_result result;
	uint32_t version;

	/* Control thread only: the version this PDU holds open. */
	uint32_t held_version;
};

static struct txn *txn_new(struct mib *m)
{
	struct txn *t = xcalloc(1, sizeof(*t));

	atomic_init(&t->refs, 1);
	t->m = m;
	t->special = -1;
	return t;
}

static void txn_unref(void *p)
{
	struct txn *t = p;

	if (t && atomic_fetch_sub(&t->refs, 1) == 1)
		free(t);
}

static enum reload_source txn_source(const struct txn *t)
{
	return t->special == O_ROLLBACK ? RELOAD_SRC_ROLLBACK : RELOAD_SRC_SNMP;
}

/* Run fn(e, t) on the control thread without waiting for it. */
static void txn_post(struct txn *t, void (*fn)(struct engine *, void *))
{
	atomic_fetch_add(&t->refs, 1);
	engine_post(t->m->e, fn, t, txn_unref);
}

/* Run fn(e, t) on the control thread; 0, or -ETIMEDOUT (then undo, when
 * given, runs right after fn if fn had started). */
static int txn_call(struct txn *t, void (*fn)(struct engine *, void *), void (*undo)(struct engine *, void *))
{
	atomic_fetch_add(&t->refs, 1);
	return engine_call_undo(t->m->e, fn, undo, t, txn_unref, t->m->call_timeout_ms);
}

static void note_error(struct txn *t, const struct cfg_errors *errs)
{
	snprintf(t->err_key, sizeof(t->err_key), "%s", errs->n && errs->v[0].key ? errs->v[0].key : "");
}

/* ---- on the control thread ----------------------------------------------- */

/* The edits of t whose value differs from c, as written in a file. */
struct edits {
	struct wb_edit e[TXN_MAX];
	char val[TXN_MAX][24];
	size_t n;
};

static void txn_edits(const struct txn *t, const struct config *c, struct edits *out)
{
	struct sbuf now = { 0 };

	out->n = 0;
	for (size_t i = 0; i < t->n; i++) {
		const struct mib_scalar *s = &mib_scalars[t->vb[i].obj];
		if (!s->key)
			continue; /* sssConfigSpinLock: no setting */
		const struct cfg_setting *set = cfg_setting_find(s->key);
		char *val = out->val[out->n];

		if (set->type == CFG_T_BOOL)
			snprintf(val, sizeof(out->val[0]), "%s", t->vb[i].value == 1 ? "true" : "false");
		else
			snprintf(val, sizeof(out->val[0]), "%lu", (unsigned long)t->vb[i].value);
		sbuf_reset(&now);
		cfg_value_format(c, set, true, &now);
		if (strcmp(sbuf_str(&now), val) == 0)
			continue;
		out->e[out->n].key = s->key;
		out->e[out->n].value = val;
		out->n++;
	}
	sbuf_free(&now);
}

/*
 * The version of the file SNMP writes into: the running snapshot when the
 * file on disk holds its bytes, or the file on disk when it differs only
 * in what the engine ignores (an edit of a comment or of the layout, which
 * was "unchanged" and so left the running bytes as they were).  Returns a
 * reference, or NULL with the reason in errs and *why.
 */
static struct config *write_base(struct config *c, enum wb_refusal *why, struct cfg_errors *errs)
{
	struct cfg_errors mine = { 0 }, ignored = { 0 };
	struct config *d = NULL, *ret = NULL;

	*why = wb_check(c, NULL, &mine);
	if (*why == WB_OK) {
		ret = cfg_ref(c);
	} else if (*why == WB_DIFFERS && cfg_load(c->path, NULL, 0, &d, &ignored) == CFG_OK &&
		   cfg_check_change(c, d, &ignored) == 0 && cfg_diff(c, d, NULL, NULL) == 0) {
		cfg_errors_clear(&mine);
		*why = wb_check(d, NULL, &mine);
		if (*why == WB_OK)
			ret = cfg_ref(d);
	}
	if (!ret)
		cfg_errors_append(errs, &mine);
	cfg_unref(d);
	cfg_errors_free(&mine);
	cfg_errors_free(&ignored);
	return ret;
}

/* What this PDU would do against the running version, worked out on the
 * control thread (again in ACTION: the running version may have moved). */
struct plan {
	bool nothing;          /* every value is the running one */
	bool unreadable;       /* sssConfigReload: the file cannot be read */
	bool have_cand;
	struct sbuf cand;      /* the candidate file bytes */
	struct config *base;   /* the version on disk the write replaces (a reference) */
	struct cfg_errors why; /* a refusal found while planning... */
	int why_status;        /* ...and its SNMP error (0: none) */
};

static void refuse(struct plan *p, int status)
{
	if (!p->why_status)
		p->why_status = status;
}

static void plan_build(struct txn *t, struct engine *e, struct config *c, struct plan *p)
{
	memset(p, 0, sizeof(*p));
	if (t->special == O_RELOAD) {
		unsigned char *data = NULL;
		size_t len = 0;
		if (read_file(engine_path(e), CFG_FILE_MAX, &data, &len) < 0) {
			p->unreadable = true;
			return;
		}
		sbuf_addn(&p->cand, (const char *)data, len);
		p->have_cand = true;
		free_wiped(data, len);
		return; /* nothing to write back */
	}
	struct edits ed;
	if (t->special != O_ROLLBACK) {
		txn_edits(t, c, &ed);
		if (ed.n == 0) {
			p->nothing = true;
			return;
		}
	}
	enum wb_refusal k;
	p->base = write_base(c, &k, &p->why);
	if (!p->base)
		refuse(p, k == WB_UNWRITABLE ? SNMP_ERR_RESOURCEUNAVAILABLE : SNMP_ERR_INCONSISTENTVALUE);
	if (t->special == O_ROLLBACK) {
		struct reload_history h;
		if (engine_history_find(e, t->rollback_version, &h) < 0) {
			cfg_errors_add(&p->why, engine_path(e), 0, NULL, NULL,
				       "version %u is no longer in the history", t->rollback_version);
			refuse(p, SNMP_ERR_INCONSISTENTVALUE);
			return;
		}
		sbuf_addn(&p->cand, (const char *)h.cfg->text, h.cfg->text_len);
		p->have_cand = true;
		reload_history_clear(&h);
		return;
	}
	struct cfg_errors serr = { 0 };
	if (wb_splice(p->base ? p->base : c, ed.e, ed.n, &p->cand, &serr) == 0) {
		p->have_cand = true;
	} else {
		/* The splice's reason comes first: it is about the values. */
		cfg_errors_append(&serr, &p->why);
		cfg_errors_free(&p->why);
		p->why = serr;
		p->why_status = SNMP_ERR_INCONSISTENTVALUE;
		return;
	}
	cfg_errors_free(&serr);
}

static void plan_free(struct plan *p)
{
	sbuf_wipe(&p->cand);
	cfg_unref(p->base);
	cfg_errors_free(&p->why);
}

/* Count a refused request as a rejected attempt with why as its reason:
 * an apply error, like a write-back that fails inside ACTION. */
static void record_refusal(struct txn *t, struct engine *e, const struct cfg_errors *why)
{
	note_error(t, why);
	engine_reject(e, txn_source(t), RELOAD_APPLY_ERROR, why);
}

/* An attempt the engine rejects by itself: run it so that it is counted. */
static void reject_through_engine(struct txn *t, struct engine *e, const struct reload_input *in)
{
	struct reload_outcome o = { 0 };

	engine_reload(e, txn_source(t), in, &o);
	note_error(t, &o.errors);
	reload_outcome_free(&o);
}

static void fn_reserve2(struct engine *e, void *arg)
{
	struct txn *t = arg;
	struct config *c = engine_current(e);
	struct cfg_errors errs = { 0 };
	struct plan p;

	t->status = SNMP_ERR_NOERROR;
	t->err_key[0] = '\0';
	plan_build(t, e, c, &p);
	if (p.nothing)
		goto out;
	if (p.unreadable) {
		reject_through_engine(t, e, NULL);
		t->status = SNMP_ERR_INCONSISTENTVALUE;
		goto out;
	}
	if (p.have_cand) {
		enum reload_result r = engine_validate(e, p.cand.s, p.cand.len, &errs);
		if (r == RELOAD_PARSE_ERROR || r == RELOAD_VALIDATION_ERROR) {
			struct reload_input in = { .text = p.cand.s, .len = p.cand.len };
			reject_through_engine(t, e, &in);
			t->status = SNMP_ERR_INCONSISTENTVALUE;
			goto out;
		}
		if (r == RELOAD_UNCHANGED)
			goto out; /* nothing will be written */
	}
	if (p.why_status) {
		record_refusal(t, e, &p.why);
		t->status = p.why_status;
	}
out:
	plan_free(&p);
	cfg_errors_free(&errs);
	cfg_unref(c);
}

static void fn_action(struct engine *e, void *arg)
{
	struct txn *t = arg;
	struct mib *m = t->m;
	struct config *c = engine_current(e);
	struct reload_outcome o = { 0 };
	struct reload_input in = { .hold = true };
	struct plan p;

	t->status = SNMP_ERR_COMMITFAILED;
	t->err_key[0] = '\0';
	t->result = 0;
	t->held_version = 0;
	plan_build(t, e, c, &p);
	if (p.unreadable) {
		reject_through_engine(t, e, NULL);
		goto out;
	}
	if (!p.nothing && !p.have_cand) {
		record_refusal(t, e, &p.why);
		goto out;
	}
	if (p.nothing) {
		/* Equal to the running values: counted as unchanged. */
		in.text = c->text;
		in.len = c->text_len;
	} else {
		in.text = p.cand.s;
		in.len = p.cand.len;
		/* The engine validates; if anything changes, the write-back
		 * component writes the file in prepare, or refuses with why. */
		m->pending = (const unsigned char *)p.cand.s;
		m->pending_len = p.cand.len;
		m->pending_base = p.base;
		m->veto = p.why_status ? &p.why : NULL;
	}
	t->result = engine_reload(e, txn_source(t), &in, &o);
	m->pending = NULL;
	m->pending_base = NULL;
	m->veto = NULL;
	t->version = o.version;
	if (t->result == RELOAD_APPLIED) {
		t->held_version = o.version;
		t->status = SNMP_ERR_NOERROR;
	} else if (t->result == RELOAD_UNCHANGED) {
		t->status = SNMP_ERR_NOERROR;
	} else {
		note_error(t, &o.errors);
	}
out:
	reload_outcome_free(&o);
	plan_free(&p);
	cfg_unref(c);
}

/* Whether the change held open is this PDU's. */
static bool holds_ours(struct engine *e, const struct txn *t)
{
	return t->held_version && engine_holding(e) && engine_version(e) == t->held_version;
}

/* Revert this PDU's held change, counted as an apply error saying why. */
static void revert_ours(struct engine *e, struct txn *t, const char *why)
{
	struct cfg_errors errs = { 0 };

	if (holds_ours(e, t)) {
		cfg_errors_add(&errs, engine_path(e), 0, NULL, NULL, "%s", why);
		engine_revert(e, &errs);
		cfg_errors_free(&errs);
	}
	t->held_version = 0;
}

static void fn_undo(struct engine *e, void *arg)
{
	revert_ours(e, arg, "SNMP SET undone: the master agent failed the request (UndoSet)");
}

/* ACTION ran past the phase's wait: the manager was answered
 * commitFailed, so what it did must not stay (engine_call_undo runs this
 * right after fn_action, before anything else). */
static void fn_action_abandoned(struct engine *e, void *arg)
{
	struct txn *t = arg;
	char why[160];

	snprintf(why, sizeof(why),
		 "SNMP SET answered commitFailed: applying it took longer than %d ms, so it was undone",
		 t->m->call_timeout_ms);
	revert_ours(e, arg, why);
}

static void fn_commit(struct engine *e, void *arg)
{
	struct txn *t = arg;

	if (holds_ours(e, t))
		engine_release(e);
	t->held_version = 0;
}

/* ---- the write-back component (control thread) -------------------------- */

struct wb_staged {
	char *path;
	unsigned char *old;
	size_t old_len;
	struct wb_stamp wrote; /* the file as this write left it */
	bool restore; /* the new bytes are on disk and not committed */
};

/* Put the old bytes back, unless the file was edited since this write:
 * an undo never overwrites somebody's later edit. */
static void wb_restore(struct wb_staged *s)
{
	struct sbuf why = { 0 };
	char q[600];

	if (wb_write(s->path, s->old, s->old_len, &s->wrote, NULL, &why) < 0)
		log_error("snmp", "event=writeback_restore_failed path=%s error=%s", s->path,
			  log_quote(sbuf_str(&why), q, sizeof(q)));
	else
		log_info("snmp", "event=writeback_restored path=%s", s->path);
	sbuf_free(&why);
	s->restore = false;
}

static int wbc_prepare(void *ctx, const struct config *old, const struct config *new_cfg, void **staged,
		       struct cfg_errors *errs)
{
	struct mib *m = ctx;
	const struct config *base = m->pending_base;
	struct sbuf why = { 0 };

	if (m->veto) {
		cfg_errors_append(errs, m->veto);
		return -1;
	}
	/* Only the change the running SET is applying is written back (an
	 * sssConfigReload has no base: its bytes are the file's). */
	if (!m->pending || !base || new_cfg->text_len != m->pending_len ||
	    memcmp(new_cfg->text, m->pending, m->pending_len) != 0)
		return 0;
	struct wb_stamp checked, wrote;
	if (wb_check(base, &checked, errs) != WB_OK)
		return -1;
	if (wb_write(new_cfg->path, new_cfg->text, new_cfg->text_len, &checked, &wrote, &why) < 0) {
		cfg_errors_add(errs, new_cfg->path, 0, NULL, NULL, "cannot be written back: %s", sbuf_str(&why));
		sbuf_free(&why);
		return -1;
	}
	struct wb_staged *s = xcalloc(1, sizeof(*s));
	s->wrote = wrote;
	s->path = xstrdup(base->path);
	s->old = xmalloc(base->text_len + 1);
	memcpy(s->old, base->text, base->text_len);
	s->old_len = base->text_len;
	s->restore = true;
	*staged = s;
	log_info("snmp", "event=writeback path=%s bytes=%zu", new_cfg->path, new_cfg->text_len);
	return 0;
}

static void wbc_commit(void *ctx, void *staged)
{
	((struct wb_staged *)staged)->restore = false;
}

static void wbc_revert(void *ctx, void *staged)
{
	wb_restore(staged);
}

static void wbc_abort(void *ctx, void *staged)
{
	struct wb_staged *s = staged;

	if (s->restore)
		wb_restore(s);
	free(s->path);
	free_wiped(s->old, s->old_len);
	free(s);
}

void mib_set_component_init(struct mib *m)
{
	m->component = (struct component){
		.name = "snmp-writeback",
		.prepare = wbc_prepare,
		.commit = wbc_commit,
		.revert = wbc_revert,
		.abort = wbc_abort,
		.ctx = m,
	};
}

/* ---- the phases (SNMP thread) --------------------------------------------- */

static int obj_of(const netsnmp_variable_list *vb)
{
	if (vb->name_length < MIB_ROOT_LEN + 3)
		return -1;
	for (int k = 0; k < O_N; k++)
		if (vb->name[MIB_ROOT_LEN + 1] == mib_scalars[k].g && vb->name[MIB_ROOT_LEN + 2] == mib_scalars[k].o)
			return k;
	return -1;
}

/* The varbind an error is about: the one setting key, else the first. */
static netsnmp_request_info *request_for(netsnmp_request_info *requests, const char *key)
{
	for (netsnmp_request_info *r = requests; key && *key && r; r = r->next) {
		int k = obj_of(r->requestvb);
		if (k >= 0 && mib_scalars[k].key && strcmp(mib_scalars[k].key, key) == 0)
			return r;
	}
	return requests;
}

/* Whether monitor.snmp_write allows a SET of obj: rates (the throttle
 * objects, sssNotificationsEnabled, sssConfigSpinLock) < reload (also
 * sssConfigReload) < all (also sssConfigRollback).  A refusal is counted
 * (sssSnmpWritesRefused) and logged at most every 10 s. */
static bool in_scope(struct mib *m, int obj)
{
	enum cfg_snmp_write need = obj == O_ROLLBACK ? CFG_SNMP_WRITE_ALL
				  : obj == O_RELOAD  ? CFG_SNMP_WRITE_RELOAD
						     : CFG_SNMP_WRITE_RATES;
	struct config *c = engine_current(m->e);
	int have = c ? c->monitor.snmp_write : CFG_SNMP_WRITE_RATES;

	cfg_unref(c);
	if ((int)need <= have)
		return true;
	uint32_t n = atomic_fetch_add(&m->writes_refused, 1) + 1;
	if (now_ms() - m->refused_logged_ms >= 10000 || !m->refused_logged_ms) {
		m->refused_logged_ms = now_ms();
		log_warning("snmp", "event=set_refused reason=monitor.snmp_write object=%u.%u need=%s total=%u",
			    mib_scalars[obj].g, mib_scalars[obj].o, need == CFG_SNMP_WRITE_ALL ? "all" : "reload", n);
	}
	return false;
}

/* RESERVE1 checks of one varbind: 0 or the SNMP error; *obj, *value. */
static int check_varbind(struct mib *m, const netsnmp_variable_list *vb, int *obj, long *value)
{
	struct mib_view v = { .m = m };
	struct mib_inst in;
	int found = mib_find(&v, vb->name, vb->name_length, false, false, &in), ret = SNMP_ERR_NOERROR;

	mib_view_free(&v);
	*obj = in.obj;
	if (in.obj < 0 || !mib_scalars[in.obj].writable)
		return SNMP_ERR_NOTWRITABLE;
	if (!in_scope(m, in.obj))
		return SNMP_ERR_NOACCESS;
	if (found != 0)
		return SNMP_ERR_NOCREATION;
	const struct mib_scalar *s = &mib_scalars[in.obj];
	if (vb->type != s->type)
		return SNMP_ERR_WRONGTYPE;
	if (vb->val_len != sizeof(long) || !vb->val.integer)
		return SNMP_ERR_WRONGLENGTH;
	long x = *vb->val.integer;
	if (s->type == ASN_UNSIGNED)
		x = (long)(*(const unsigned long *)vb->val.integer & 0xffffffffUL);
	*value = x;
	if (in.obj == O_RELOAD) {
		if (x != 2)
			ret = SNMP_ERR_WRONGVALUE;
	} else if (in.obj == O_ROLLBACK) {
		struct reload_history h;
		if (x <= 0 || engine_history_find(m->e, (uint32_t)x, &h) < 0)
			ret = SNMP_ERR_WRONGVALUE;
		else
			reload_history_clear(&h);
	} else if (x < s->min || x > s->max) {
		ret = SNMP_ERR_WRONGVALUE;
	} else if (in.obj == O_SPINLOCK && x != m->spinlock) {
		ret = SNMP_ERR_INCONSISTENTVALUE; /* TestAndIncr: someone else was first */
	}
	return ret;
}

static void reserve1(struct txn *t, netsnmp_agent_request_info *reqinfo, netsnmp_request_info *requests)
{
	netsnmp_request_info *special = NULL;

	for (netsnmp_request_info *r = requests; r; r = r->next) {
		int obj = -1, err;
		long value = 0;
		bool dup = false;

		err = check_varbind(t->m, r->requestvb, &obj, &value);
		for (size_t k = 0; !err && k < t->n; k++) {
			if (t->vb[k].obj != obj)
				continue;
			dup = true;
			if (t->vb[k].value != value)
				err = SNMP_ERR_INCONSISTENTVALUE; /* the same object twice, two values */
		}
		if (!err && !dup && t->n == TXN_MAX)
			err = SNMP_ERR_RESOURCEUNAVAILABLE;
		if (err) {
			netsnmp_set_request_error(reqinfo, r, err);
			return;
		}
		if (dup)
			continue;
		t->vb[t->n].obj = obj;
		t->vb[t->n].value = value;
		t->n++;
		if (obj == O_RELOAD || obj == O_ROLLBACK) {
			special = r;
			t->special = obj;
			t->rollback_version = obj == O_ROLLBACK ? (uint32_t)value : 0;
		}
	}
	/* sssConfigReload and sssConfigRollback stand alone in their PDU. */
	if (special && t->n > 1)
		netsnmp_set_request_error(reqinfo, special, SNMP_ERR_INCONSISTENTVALUE);
	for (size_t k = 0; k < t->n; k++) {
		if (t->vb[k].obj == O_SPINLOCK)
			t->has_lock = true;
		else
			t->has_settings = true;
	}
}

static void call_timed_out(const struct mib *m, const char *phase)
{
	log_warning("snmp", "event=set_timeout phase=%s timeout_ms=%d", phase, m->call_timeout_ms);
}

bool mib_set_in_progress(const struct mib *m)
{
	return m->set_since_ms && now_ms() - m->set_since_ms < MIB_SET_MAX_MS;
}

int mib_set_handler(struct mib *m, netsnmp_agent_request_info *reqinfo, netsnmp_request_info *requests)
{
	struct txn *t = netsnmp_agent_get_list_data(reqinfo, TXN_DATA);

	if (reqinfo->mode == MODE_SET_RESERVE1) {
		if (!m->set_since_ms)
			m->set_since_ms = now_ms();
		if (!t) {
			t = txn_new(m);
			netsnmp_agent_add_list_data(reqinfo, netsnmp_create_data_list(TXN_DATA, t, txn_unref));
		}
		reserve1(t, reqinfo, requests);
		return SNMP_ERR_NOERROR;
	}
	if (!t || !requests)
		return SNMP_ERR_NOERROR;
	switch (reqinfo->mode) {
	case MODE_SET_RESERVE2:
		if (t->r2_done)
			break;
		t->r2_done = true;
		if (!t->has_settings)
			break; /* the spin lock alone: nothing for the engine */
		if (txn_call(t, fn_reserve2, NULL) < 0) {
			call_timed_out(m, "reserve2");
			netsnmp_set_request_error(reqinfo, requests, SNMP_ERR_RESOURCEUNAVAILABLE);
		} else if (t->status) {
			netsnmp_set_request_error(reqinfo, request_for(requests, t->err_key), t->status);
		}
		break;
	case MODE_SET_ACTION:
		if (t->action_done)
			break;
		t->action_done = true;
		if (!t->has_settings) {
			t->action_ok = true;
		} else if (txn_call(t, fn_action, fn_action_abandoned) < 0) {
			/* The manager hears commitFailed; if the apply had begun it
			 * is undone as soon as it ends (fn_action_abandoned). */
			call_timed_out(m, "action");
			netsnmp_set_request_error(reqinfo, requests, SNMP_ERR_COMMITFAILED);
		} else if (t->status) {
			netsnmp_set_request_error(reqinfo, request_for(requests, t->err_key), t->status);
		} else {
			t->action_ok = true;
		}
		break;
	/* UNDO and COMMIT are posted, never dropped: they run on the control
	 * thread in order after ACTION, however busy it is, and while a
	 * change is held the daemon starts no other attempt (see
	 * engine_hold_wait).  Their answer cannot depend on the outcome. */
	case MODE_SET_UNDO:
		if (t->undo_done || !t->action_ok || !t->has_settings)
			break;
		t->undo_done = true;
		txn_post(t, fn_undo);
		break;
	case MODE_SET_COMMIT:
		m->set_since_ms = 0;
		if (t->commit_done || !t->action_ok)
			break;
		t->commit_done = true;
		if (t->has_lock)
			m->spinlock = m->spinlock == 2147483647L ? 0 : m->spinlock + 1;
		if (t->has_settings)
			txn_post(t, fn_commit);
		break;
	case MODE_SET_FREE:
		m->set_since_ms = 0;
		break;
	default:
		break;
	}
	return SNMP_ERR_NOERROR;
}
