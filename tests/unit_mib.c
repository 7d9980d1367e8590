/* SPDX-License-Identifier: MIT */
/*
 * unit_mib.c - SSSONECTOR-MIB's handler called directly, without snmpd:
 * Net-SNMP request structures are built here and handed to mib_handler()
 * mode by mode, as the agent library does for a subagent (TestSet ->
 * RESERVE1 + RESERVE2, CommitSet -> ACTION, UndoSet -> UNDO, CleanupSet ->
 * COMMIT or FREE).  A thread plays the daemon's control loop and runs the
 * engine_call() requests.
 *
 * Covers: every scalar's type, GETNEXT order through the history table,
 * exact-GET errors, every SET error class, RESERVE2 refusals counted with
 * their reason in sssReloadLastError, ACTION applying and writing back,
 * UNDO restoring state and file, COMMIT notifying, unchanged SETs, reload,
 * rollback, and a SET phase timing out when the control thread is stuck;
 * plus the text helpers (UTF-8 cut, changed list, DateAndTime).
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <CUnit/Basic.h>

#include "mibpriv.h"
#include "config.h"
#include "reload.h"
#include "stats.h"
#include "testutil.h"

#define R MIB_ROOT, 1

static const char *dir, *conf;
static struct engine *eng;
static struct mib *mib;
static struct tunnel_stats tstats;
static netsnmp_mib_handler handler;

/* ---- the control thread ------------------------------------------------ */

static pthread_t ctl;
static atomic_bool ctl_stop, ctl_paused;

static void *control(void *arg)
{
	while (!atomic_load(&ctl_stop)) {
		struct pollfd p = { .fd = engine_call_fd(eng), .events = POLLIN };
		if (poll(&p, 1, 20) > 0 && !atomic_load(&ctl_paused))
			engine_run_calls(eng);
	}
	return NULL;
}

/* ---- what the engine announces (what the agent turns into notifications) -- */

static int notes; /* applied changes announced, startup aside */
static struct reload_event last_note;

static void on_event(void *ctx, const struct reload_event *ev)
{
	mib_note_attempt(mib, ev); /* as the agent's observer does */
	if (ev->result == RELOAD_APPLIED && ev->source != RELOAD_SRC_STARTUP) {
		notes++;
		last_note = *ev;
	}
}

/* A slow component: its prepare takes longer than a SET phase may wait
 * in the tests of that wait (SHORT_WAIT_MS). */
#define SHORT_WAIT_MS 400
static atomic_bool slow_prepare;

static int slow_prepare_fn(void *ctx, const struct config *old, const struct config *new_cfg, void **staged,
			   struct cfg_errors *errs)
{
	if (atomic_load(&slow_prepare))
		usleep((SHORT_WAIT_MS + 300) * 1000);
	return 0;
}

static const struct component slow_component = { .name = "slow", .prepare = slow_prepare_fn };

/* ---- the configuration ------------------------------------------------- */

static char original[4096];

static const char *scope = "all"; /* monitor.snmp_write of the next setup */

static void write_conf(const char *extra)
{
	const char *pki = tu_pki();

	snprintf(original, sizeof(original),
		 "# SSSonector under test\n"
		 "mode = \"server\";\n"
		 "tunnel = {\n"
		 "  listen = \"127.0.0.1:44300\";\n"
		 "  cert_file = \"%s/server.crt\";\n"
		 "  key_file = \"%s/server.key\";\n"
		 "  ca_file = \"%s/ca.crt\";\n"
		 "  upload_kbps = 10000; # the upload limit\n"
		 "};\n"
		 "forward = { target = \"127.0.0.1:5201\"; };\n"
		 "monitor = { snmp_write = \"%s\"; };\n"
		 "%s",
		 pki, pki, pki, scope, extra ? extra : "");
	tu_write(conf, original);
}

/* A fresh engine on a fresh file, with the write-back component. */
static void setup(const char *extra)
{
	if (eng) {
		atomic_store(&ctl_stop, true);
		pthread_join(ctl, NULL);
		mib_free(mib);
		engine_free(eng);
	}
	write_conf(extra);
	eng = engine_new(conf);
	mib = mib_new(eng, &tstats);
	/* a loaded machine must not turn a SET into a timeout: the tests of
	 * the timeout itself shorten this again (SHORT_WAIT_MS) */
	mib->call_timeout_ms = 10000;
	engine_add_observer(eng, on_event, NULL);
	engine_register(eng, &slow_component);
	engine_register(eng, mib_component(mib));
	atomic_store(&slow_prepare, false);
	CU_ASSERT_EQUAL_FATAL(engine_reload(eng, RELOAD_SRC_STARTUP, NULL, NULL), RELOAD_APPLIED);
	handler.myvoid = mib;
	notes = 0;
	atomic_store(&ctl_stop, false);
	atomic_store(&ctl_paused, false);
	pthread_create(&ctl, NULL, control, NULL);
}

static char *file_text(void)
{
	return tu_read(conf);
}

static void stats(struct reload_stats *st)
{
	engine_stats(eng, st);
	CU_ASSERT_EQUAL(st->attempts, st->successes + st->failures + st->unchanged);
}

/* ---- requests ---------------------------------------------------------------- */

struct req {
	netsnmp_agent_request_info info;
	netsnmp_request_info r[8];
	netsnmp_variable_list *vars;
	int n;
};

static void req_add(struct req *q, const oid *name, size_t len, u_char type, long value)
{
	u_long u = (u_long)value;

	if (type == ASN_NULL)
		snmp_varlist_add_variable(&q->vars, name, len, ASN_NULL, NULL, 0);
	else if (type == ASN_OCTET_STR)
		snmp_varlist_add_variable(&q->vars, name, len, type, "x", 1);
	else if (type == ASN_UNSIGNED)
		snmp_varlist_add_variable(&q->vars, name, len, type, &u, sizeof(u));
	else
		snmp_varlist_add_variable(&q->vars, name, len, type, &value, sizeof(value));
	q->n = 0;
	for (netsnmp_variable_list *v = q->vars; v; v = v->next_variable, q->n++) {
		netsnmp_request_info *r = &q->r[q->n];
		memset(r, 0, sizeof(*r));
		r->requestvb = v;
		r->index = q->n + 1;
		r->agent_req_info = &q->info;
		if (q->n > 0) {
			q->r[q->n - 1].next = r;
			r->prev = &q->r[q->n - 1];
		}
	}
}

static void req_free(struct req *q)
{
	netsnmp_free_agent_data_sets(&q->info);
	snmp_free_varbind(q->vars);
	memset(q, 0, sizeof(*q));
}

/* Wait until every request queued so far has run on the control thread
 * (requests run in order, so a no-op's return is that condition). */
static void noop(struct engine *e, void *arg)
{
}

static void drain(void)
{
	CU_ASSERT_EQUAL(engine_call(eng, noop, NULL, NULL, 5000), 0);
}

static void run_mode(struct req *q, int mode)
{
	q->info.mode = mode;
	CU_ASSERT_EQUAL(mib_handler(&handler, NULL, &q->info, q->r), SNMP_ERR_NOERROR);
}

/* The first error of the PDU so far (0 if none); *at its varbind (1-based). */
static int first_error(const struct req *q, int *at)
{
	for (int i = 0; i < q->n; i++)
		if (q->r[i].status) {
			if (at)
				*at = i + 1;
			return q->r[i].status;
		}
	return 0;
}

/* The SET sequence of a subagent; with undo, another subagent fails after
 * our ACTION.  Returns the first error (0) and frees q. */
static int set_pdu(struct req *q, bool undo, int *at)
{
	int err;

	run_mode(q, MODE_SET_RESERVE1);
	if (!(err = first_error(q, at)))
		run_mode(q, MODE_SET_RESERVE2);
	if (!err && !(err = first_error(q, at)))
		run_mode(q, MODE_SET_ACTION);
	if (!err && !(err = first_error(q, at)))
		run_mode(q, undo ? MODE_SET_UNDO : MODE_SET_COMMIT);
	else if (q->info.mode == MODE_SET_ACTION)
		run_mode(q, MODE_SET_UNDO);
	else
		run_mode(q, MODE_SET_FREE);
	if (q->info.mode == MODE_SET_UNDO || q->info.mode == MODE_SET_COMMIT)
		drain(); /* they are posted: let them run */
	req_free(q);
	return err;
}

static int set1(const oid *name, size_t len, u_char type, long value, int *at)
{
	struct req q = { 0 };
	req_add(&q, name, len, type, value);
	return set_pdu(&q, false, at);
}

static const oid o_upload[] = { R, 4, 2, 0 }, o_download[] = { R, 4, 3, 0 }, o_burst[] = { R, 4, 4, 0 },
		 o_throttle[] = { R, 4, 1, 0 }, o_reload[] = { R, 1, 7, 0 }, o_rollback[] = { R, 1, 8, 0 },
		 o_version[] = { R, 1, 1, 0 };
#define L(o) OID_LENGTH(o)

/* ---- GET and GETNEXT ----------------------------------------------------------- */

static void test_get_every_scalar(void)
{
	setup(NULL);
	atomic_store(&tstats.bytes_up, UINT64_C(0x100000002));
	atomic_store(&tstats.rate_up_bps, 2500000);
	atomic_store(&tstats.state, TUNNEL_LISTENING);
	mib_publish_watch(mib, 1, 7);
	for (int o = 0; o < O_N; o++) {
		struct req q = { 0 };
		oid name[] = { R, mib_scalars[o].g, mib_scalars[o].o, 0 };
		req_add(&q, name, L(name), ASN_NULL, 0);
		run_mode(&q, MODE_GET);
		CU_ASSERT_EQUAL(q.vars->type, mib_scalars[o].type);
		if (q.vars->type != mib_scalars[o].type)
			fprintf(stderr, "object %d.%d: type %d\n", mib_scalars[o].g, mib_scalars[o].o, q.vars->type);
		switch (o) {
		case O_VERSION: CU_ASSERT_EQUAL(*q.vars->val.integer, 1); break;
		case O_HASH: CU_ASSERT_EQUAL(q.vars->val_len, 32); break;
		case O_FILE: CU_ASSERT_EQUAL(q.vars->val_len, strlen(conf)); break;
		case O_APPLIED_AT:
		case O_LAST_ATTEMPT_AT: CU_ASSERT_EQUAL(q.vars->val_len, 11); break;
		case O_RELOAD: CU_ASSERT_EQUAL(*q.vars->val.integer, 1); break;
		case O_ROLLBACK: CU_ASSERT_EQUAL(*q.vars->val.integer, 0); break;
		case O_ATTEMPTS: CU_ASSERT_EQUAL(*q.vars->val.integer, 1); break;
		case O_LAST_SOURCE: CU_ASSERT_EQUAL(*q.vars->val.integer, RELOAD_SRC_STARTUP); break;
		case O_WATCH_STATE: CU_ASSERT_EQUAL(*q.vars->val.integer, 1); break;
		case O_WATCH_EVENTS: CU_ASSERT_EQUAL(*q.vars->val.integer, 7); break;
		case O_THROTTLE: CU_ASSERT_EQUAL(*q.vars->val.integer, 2); break;
		case O_UPLOAD_KBPS: CU_ASSERT_EQUAL(*q.vars->val.integer, 10000); break;
		case O_UPLOAD_RATE: CU_ASSERT_EQUAL(*q.vars->val.integer, 2500); break;
		case O_TUNNEL_STATE: CU_ASSERT_EQUAL(*q.vars->val.integer, TUNNEL_LISTENING); break;
		case O_BYTES_UP:
			CU_ASSERT_EQUAL(q.vars->val.counter64->high, 1);
			CU_ASSERT_EQUAL(q.vars->val.counter64->low, 2);
			break;
		}
		req_free(&q);
	}
}

static void test_get_errors(void)
{
	static const oid inst[] = { R, 4, 2, 1 }, obj[] = { R, 9, 1, 0 }, row[] = { R, 3, 1, 2, 99 };
	struct req q = { 0 };

	setup(NULL);
	req_add(&q, inst, L(inst), ASN_NULL, 0);
	req_add(&q, obj, L(obj), ASN_NULL, 0);
	req_add(&q, row, L(row), ASN_NULL, 0);
	run_mode(&q, MODE_GET);
	CU_ASSERT_EQUAL(q.r[0].requestvb->type, SNMP_NOSUCHINSTANCE);
	CU_ASSERT_EQUAL(q.r[1].requestvb->type, SNMP_NOSUCHOBJECT);
	CU_ASSERT_EQUAL(q.r[2].requestvb->type, SNMP_NOSUCHINSTANCE);
	req_free(&q);
}

/* Walk from the root with GETNEXT: every scalar and every history cell,
 * in order, then nothing (left for the next subtree). */
static void test_walk(void)
{
	oid name[MAX_OID_LEN] = { MIB_ROOT };
	size_t len = MIB_ROOT_LEN, n = 0, rows = 0, reasons = 0;

	setup(NULL);
	CU_ASSERT_EQUAL(set1(o_upload, L(o_upload), ASN_UNSIGNED, 5000, NULL), 0); /* a second row */
	for (;;) {
		struct req q = { 0 };
		req_add(&q, name, len, ASN_NULL, 0);
		run_mode(&q, MODE_GETNEXT);
		if (q.vars->type == ASN_NULL) {
			req_free(&q);
			break;
		}
		CU_ASSERT(snmp_oid_compare(q.vars->name, q.vars->name_length, name, len) > 0);
		memcpy(name, q.vars->name, q.vars->name_length * sizeof(oid));
		len = q.vars->name_length;
		if (len == MIB_ROOT_LEN + 5 && name[MIB_ROOT_LEN + 1] == 3)
			rows++;
		else if (len == MIB_ROOT_LEN + 6 && name[MIB_ROOT_LEN + 1] == 5)
			reasons++;
		n++;
		req_free(&q);
		CU_ASSERT_FATAL(n < 1000);
	}
	CU_ASSERT_EQUAL(n, O_N + rows + reasons);
	CU_ASSERT_EQUAL(rows, 4 * 2); /* four columns, versions 1 and 2 */
	CU_ASSERT_EQUAL(reasons, REFUSED_N + TUN_DROP_N); /* every reason, always; no sessions */

	/* GETNEXT with the AgentX "include" flag returns the name itself. */
	struct req q = { 0 };
	req_add(&q, o_version, L(o_version), ASN_NULL, 0);
	q.r[0].inclusive = 1;
	run_mode(&q, MODE_GETNEXT);
	CU_ASSERT_EQUAL(snmp_oid_compare(q.vars->name, q.vars->name_length, o_version, L(o_version)), 0);
	req_free(&q);
}

/* ---- SET ------------------------------------------------------------------ */

static void test_set_reserve1_errors(void)
{
	static const oid ro[] = { R, 2, 1, 0 }, unknown[] = { R, 9, 9, 0 }, inst[] = { R, 4, 2, 1 },
			 cell[] = { R, 3, 1, 2, 1 };
	struct reload_stats before, after;
	int at = 0;

	setup(NULL);
	stats(&before);
	CU_ASSERT_EQUAL(set1(ro, L(ro), ASN_COUNTER, 1, NULL), SNMP_ERR_NOTWRITABLE);
	CU_ASSERT_EQUAL(set1(unknown, L(unknown), ASN_INTEGER, 1, NULL), SNMP_ERR_NOTWRITABLE);
	CU_ASSERT_EQUAL(set1(cell, L(cell), ASN_OCTET_STR, 0, NULL), SNMP_ERR_NOTWRITABLE);
	CU_ASSERT_EQUAL(set1(inst, L(inst), ASN_UNSIGNED, 5000, NULL), SNMP_ERR_NOCREATION);
	CU_ASSERT_EQUAL(set1(o_upload, L(o_upload), ASN_INTEGER, 5000, NULL), SNMP_ERR_WRONGTYPE);
	CU_ASSERT_EQUAL(set1(o_upload, L(o_upload), ASN_UNSIGNED, 7, NULL), SNMP_ERR_WRONGVALUE);
	CU_ASSERT_EQUAL(set1(o_upload, L(o_upload), ASN_UNSIGNED, 100000001, NULL), SNMP_ERR_WRONGVALUE);
	CU_ASSERT_EQUAL(set1(o_burst, L(o_burst), ASN_UNSIGNED, 0, NULL), SNMP_ERR_WRONGVALUE);
	CU_ASSERT_EQUAL(set1(o_burst, L(o_burst), ASN_UNSIGNED, 10001, NULL), SNMP_ERR_WRONGVALUE);
	CU_ASSERT_EQUAL(set1(o_throttle, L(o_throttle), ASN_INTEGER, 3, NULL), SNMP_ERR_WRONGVALUE);
	CU_ASSERT_EQUAL(set1(o_reload, L(o_reload), ASN_INTEGER, 1, NULL), SNMP_ERR_WRONGVALUE);
	CU_ASSERT_EQUAL(set1(o_rollback, L(o_rollback), ASN_UNSIGNED, 0, NULL), SNMP_ERR_WRONGVALUE);
	CU_ASSERT_EQUAL(set1(o_rollback, L(o_rollback), ASN_UNSIGNED, 42, NULL), SNMP_ERR_WRONGVALUE);

	/* A wrong length (not producible with snmpset). */
	struct req q = { 0 };
	req_add(&q, o_upload, L(o_upload), ASN_UNSIGNED, 5000);
	q.vars->val_len = 2;
	CU_ASSERT_EQUAL(set_pdu(&q, false, NULL), SNMP_ERR_WRONGLENGTH);

	/* Reload and rollback stand alone; the error names the reload varbind. */
	req_add(&q, o_upload, L(o_upload), ASN_UNSIGNED, 5000);
	req_add(&q, o_reload, L(o_reload), ASN_INTEGER, 2);
	CU_ASSERT_EQUAL(set_pdu(&q, false, &at), SNMP_ERR_INCONSISTENTVALUE);
	CU_ASSERT_EQUAL(at, 2);
	/* The same object twice with two values. */
	req_add(&q, o_upload, L(o_upload), ASN_UNSIGNED, 5000);
	req_add(&q, o_upload, L(o_upload), ASN_UNSIGNED, 6000);
	CU_ASSERT_EQUAL(set_pdu(&q, false, NULL), SNMP_ERR_INCONSISTENTVALUE);

	/* None of these reached the engine. */
	stats(&after);
	CU_ASSERT_EQUAL(after.attempts, before.attempts);
	CU_ASSERT_EQUAL(engine_version(eng), 1);
}

static void test_set_applies_and_writes_back(void)
{
	struct req q = { 0 };
	struct reload_stats st;

	setup(NULL);
	req_add(&q, o_upload, L(o_upload), ASN_UNSIGNED, 5000);
	req_add(&q, o_throttle, L(o_throttle), ASN_INTEGER, 1);
	req_add(&q, o_burst, L(o_burst), ASN_UNSIGNED, 250);
	CU_ASSERT_EQUAL(set_pdu(&q, false, NULL), 0);
	CU_ASSERT_EQUAL(engine_version(eng), 2);
	struct config *c = engine_current(eng);
	CU_ASSERT_EQUAL(c->tunnel.upload_kbps, 5000);
	CU_ASSERT(c->throttle.enabled);
	CU_ASSERT_EQUAL(c->throttle.burst_ms, 250);
	cfg_unref(c);
	char *t = file_text();
	CU_ASSERT_PTR_NOT_NULL(strstr(t, "  upload_kbps = 5000; # the upload limit\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(t, "# SSSonector under test\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(t, "throttle = {\n  enabled = true;\n  burst_ms = 250;\n};\n"));
	free(t);
	stats(&st);
	CU_ASSERT_EQUAL(st.last_source, RELOAD_SRC_SNMP);
	CU_ASSERT_EQUAL(st.successes, 2);
	/* COMMIT announced it. */
	CU_ASSERT_EQUAL(notes, 1);
	CU_ASSERT_EQUAL(last_note.result, RELOAD_APPLIED);
	CU_ASSERT_EQUAL(last_note.version, 2);
	CU_ASSERT_FALSE(engine_holding(eng));

	/* The same values again: unchanged, success, no new version. */
	req_add(&q, o_upload, L(o_upload), ASN_UNSIGNED, 5000);
	CU_ASSERT_EQUAL(set_pdu(&q, false, NULL), 0);
	CU_ASSERT_EQUAL(engine_version(eng), 2);
	stats(&st);
	CU_ASSERT_EQUAL(st.unchanged, 1);
	CU_ASSERT_EQUAL(st.last_result, RELOAD_UNCHANGED);
	CU_ASSERT_EQUAL(notes, 1);
}

static void test_set_undo(void)
{
	struct req q = { 0 };

	setup(NULL);
	req_add(&q, o_download, L(o_download), ASN_UNSIGNED, 3000);
	CU_ASSERT_EQUAL(set_pdu(&q, true, NULL), 0);
	/* Swapped back, file restored byte for byte, nothing announced. */
	CU_ASSERT_EQUAL(engine_version(eng), 1);
	struct config *c = engine_current(eng);
	CU_ASSERT_EQUAL(c->tunnel.download_kbps, 10000);
	cfg_unref(c);
	char *t = file_text();
	CU_ASSERT_STRING_EQUAL(t, original);
	free(t);
	CU_ASSERT_EQUAL(notes, 0);
	CU_ASSERT_FALSE(engine_holding(eng));
}

static void test_set_validation_refused(void)
{
	struct reload_stats st;
	char key[600];
	int at = 0;

	setup(NULL);
	/* The key file became group-writable: any candidate is invalid. */
	snprintf(key, sizeof(key), "%s/server.key", tu_pki());
	chmod(key, 0660);
	struct req q = { 0 };
	req_add(&q, o_throttle, L(o_throttle), ASN_INTEGER, 1);
	req_add(&q, o_upload, L(o_upload), ASN_UNSIGNED, 6000);
	int err = set_pdu(&q, false, &at);
	chmod(key, 0600);
	CU_ASSERT_EQUAL(err, SNMP_ERR_INCONSISTENTVALUE);
	stats(&st);
	CU_ASSERT_EQUAL(st.validation_errors, 1);
	CU_ASSERT_EQUAL(st.last_source, RELOAD_SRC_SNMP);
	CU_ASSERT_PTR_NOT_NULL(strstr(st.last_error, "tunnel.key_file"));
	CU_ASSERT_EQUAL(engine_version(eng), 1);
	char *t = file_text();
	CU_ASSERT_STRING_EQUAL(t, original);
	free(t);
}

static void test_set_disk_differs(void)
{
	struct reload_stats st;

	setup(NULL);
	tu_write(conf, "# an edit nobody applied\n");
	CU_ASSERT_EQUAL(set1(o_upload, L(o_upload), ASN_UNSIGNED, 6000, NULL), SNMP_ERR_INCONSISTENTVALUE);
	stats(&st);
	CU_ASSERT_EQUAL(st.apply_errors, 1);
	CU_ASSERT_EQUAL(st.last_result, RELOAD_APPLY_ERROR);
	CU_ASSERT_PTR_NOT_NULL(strstr(st.last_error, "differs from the running version"));
	CU_ASSERT_EQUAL(engine_version(eng), 1);
	char *t = file_text();
	CU_ASSERT_STRING_EQUAL(t, "# an edit nobody applied\n");
	free(t);
}

static void test_set_include_refused(void)
{
	struct reload_stats st;
	const char *inc = tu_path(dir, "throttle.inc");

	tu_write(inc, "throttle = { enabled = false; };\n");
	setup("@include \"throttle.inc\"\n");
	CU_ASSERT_EQUAL(set1(o_throttle, L(o_throttle), ASN_INTEGER, 1, NULL), SNMP_ERR_INCONSISTENTVALUE);
	stats(&st);
	CU_ASSERT_EQUAL(st.failures, 1);
	CU_ASSERT_PTR_NOT_NULL(strstr(st.last_error, "throttle.inc:1: throttle.enabled: is set in an @include"));
	CU_ASSERT_EQUAL(engine_version(eng), 1);
	/* A value that is already running needs no write: fine. */
	CU_ASSERT_EQUAL(set1(o_throttle, L(o_throttle), ASN_INTEGER, 2, NULL), 0);
}

static void test_set_after_comment_edit(void)
{
	struct reload_stats st;
	char text[4200];

	setup(NULL);
	/* A comment added on disk: the engine calls that unchanged and keeps
	 * the running bytes; SNMP writes into the file as it is now. */
	snprintf(text, sizeof(text), "# a comment added later\n%s", original);
	tu_write(conf, text);
	CU_ASSERT_EQUAL(engine_reload(eng, RELOAD_SRC_FILE, NULL, NULL), RELOAD_UNCHANGED);
	CU_ASSERT_EQUAL(set1(o_upload, L(o_upload), ASN_UNSIGNED, 5000, NULL), 0);
	char *t = file_text();
	CU_ASSERT_PTR_NOT_NULL(strstr(t, "# a comment added later\n# SSSonector under test\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(t, "upload_kbps = 5000; # the upload limit"));
	free(t);
	stats(&st);
	CU_ASSERT_EQUAL(st.successes, 2);
	CU_ASSERT_EQUAL(engine_version(eng), 2);
}

static void test_set_commit_failed(void)
{
	struct reload_stats st;
	struct req q = { 0 };

	setup(NULL);
	/* RESERVE2 passes; an edit lands on disk before ACTION. */
	req_add(&q, o_upload, L(o_upload), ASN_UNSIGNED, 5000);
	run_mode(&q, MODE_SET_RESERVE1);
	run_mode(&q, MODE_SET_RESERVE2);
	CU_ASSERT_EQUAL(first_error(&q, NULL), 0);
	tu_write(conf, "# someone else's edit\n");
	run_mode(&q, MODE_SET_ACTION);
	CU_ASSERT_EQUAL(first_error(&q, NULL), SNMP_ERR_COMMITFAILED);
	run_mode(&q, MODE_SET_UNDO);
	req_free(&q);
	CU_ASSERT_EQUAL(engine_version(eng), 1);
	CU_ASSERT_FALSE(engine_holding(eng));
	char *t = file_text();
	CU_ASSERT_STRING_EQUAL(t, "# someone else's edit\n");
	free(t);
	stats(&st);
	CU_ASSERT_EQUAL(st.apply_errors, 1);
	CU_ASSERT_PTR_NOT_NULL(strstr(st.last_error, "differs from the running version"));
	CU_ASSERT_EQUAL(notes, 0);
}

static void test_reload_and_rollback(void)
{
	struct reload_stats st;

	setup(NULL);
	CU_ASSERT_EQUAL(set1(o_upload, L(o_upload), ASN_UNSIGNED, 5000, NULL), 0); /* v2 */
	/* Reload: the file changed behind the engine's back (no watch here). */
	char *t = file_text();
	char *p = strstr(t, "5000");
	memcpy(p, "4000", 4);
	tu_write(conf, t);
	free(t);
	CU_ASSERT_EQUAL(set1(o_reload, L(o_reload), ASN_INTEGER, 2, NULL), 0); /* v3 */
	CU_ASSERT_EQUAL(engine_version(eng), 3);
	stats(&st);
	CU_ASSERT_EQUAL(st.last_source, RELOAD_SRC_SNMP);
	/* A rejected file: the reload SET fails and says why. */
	tu_write(conf, "mode = \"server\"; tunnel = { upload_kbps = 1; };\n");
	CU_ASSERT_EQUAL(set1(o_reload, L(o_reload), ASN_INTEGER, 2, NULL), SNMP_ERR_INCONSISTENTVALUE);
	CU_ASSERT_EQUAL(engine_version(eng), 3);

	/* Rollback to version 1: its bytes come back, as version 4. */
	tu_write(conf, "x");
	CU_ASSERT_EQUAL(set1(o_rollback, L(o_rollback), ASN_UNSIGNED, 1, NULL), SNMP_ERR_INCONSISTENTVALUE);
	struct config *c3 = engine_current(eng);
	tu_write(conf, (const char *)c3->text); /* the disk matches the running version again */
	cfg_unref(c3);
	CU_ASSERT_EQUAL(set1(o_rollback, L(o_rollback), ASN_UNSIGNED, 1, NULL), 0);
	CU_ASSERT_EQUAL(engine_version(eng), 4);
	t = file_text();
	CU_ASSERT_STRING_EQUAL(t, original);
	free(t);
	stats(&st);
	CU_ASSERT_EQUAL(st.last_source, RELOAD_SRC_ROLLBACK);
	CU_ASSERT_EQUAL(last_note.source, RELOAD_SRC_ROLLBACK);
	CU_ASSERT_EQUAL(last_note.version, 4);
}

static void test_set_timeout(void)
{
	struct reload_stats before, after;

	setup(NULL);
	stats(&before);
	mib->call_timeout_ms = SHORT_WAIT_MS;
	atomic_store(&ctl_paused, true); /* the control thread is busy */
	/* answered (not blocked until the control thread is back) */
	CU_ASSERT_EQUAL(set1(o_upload, L(o_upload), ASN_UNSIGNED, 5000, NULL), SNMP_ERR_RESOURCEUNAVAILABLE);
	atomic_store(&ctl_paused, false);
	/* The dropped request never ran: had it been kept, it would have run
	 * before the drain's own request. */
	drain();
	stats(&after);
	CU_ASSERT_EQUAL(after.attempts, before.attempts);
	CU_ASSERT_EQUAL(engine_version(eng), 1);
}

/* ACTION outlives the phase's wait: the manager is told commitFailed, so
 * the change it started is undone as soon as it ends, and counted as an
 * apply error; the file keeps its bytes, nothing is announced as applied. */
static void test_set_action_timeout(void)
{
	struct reload_stats st;
	struct req q = { 0 };

	setup(NULL);
	req_add(&q, o_upload, L(o_upload), ASN_UNSIGNED, 5000);
	run_mode(&q, MODE_SET_RESERVE1);
	run_mode(&q, MODE_SET_RESERVE2);
	CU_ASSERT_EQUAL(first_error(&q, NULL), 0);
	mib->call_timeout_ms = SHORT_WAIT_MS;
	atomic_store(&slow_prepare, true);
	run_mode(&q, MODE_SET_ACTION);
	CU_ASSERT_EQUAL(first_error(&q, NULL), SNMP_ERR_COMMITFAILED);
	run_mode(&q, MODE_SET_UNDO);
	run_mode(&q, MODE_SET_FREE);
	req_free(&q);
	drain();
	atomic_store(&slow_prepare, false);
	CU_ASSERT_EQUAL(engine_version(eng), 1);
	CU_ASSERT_FALSE(engine_holding(eng));
	struct config *c = engine_current(eng);
	CU_ASSERT_EQUAL(c->tunnel.upload_kbps, 10000);
	cfg_unref(c);
	char *t = file_text();
	CU_ASSERT_STRING_EQUAL(t, original);
	free(t);
	stats(&st);
	CU_ASSERT_EQUAL(st.successes, 1); /* startup only */
	CU_ASSERT_EQUAL(st.apply_errors, 1);
	CU_ASSERT_EQUAL(st.last_result, RELOAD_APPLY_ERROR);
	CU_ASSERT_PTR_NOT_NULL(strstr(st.last_error, "took longer than"));
	CU_ASSERT_EQUAL(notes, 0);
}

/* monitor.snmp_write: a SET beyond it is refused with noAccess in
 * RESERVE1, counted in sssSnmpWritesRefused, never an engine attempt. */
static void test_write_scope(void)
{
	static const oid o_refused[] = { R, 6, 5, 0 }, o_scope[] = { R, 6, 4, 0 };
	struct reload_stats before, after;
	struct req q = { 0 };

	scope = "rates";
	setup(NULL);
	scope = "all";
	stats(&before);
	CU_ASSERT_EQUAL(set1(o_reload, L(o_reload), ASN_INTEGER, 2, NULL), SNMP_ERR_NOACCESS);
	CU_ASSERT_EQUAL(set1(o_rollback, L(o_rollback), ASN_UNSIGNED, 1, NULL), SNMP_ERR_NOACCESS);
	/* noAccess comes before the value's own errors */
	CU_ASSERT_EQUAL(set1(o_reload, L(o_reload), ASN_INTEGER, 7, NULL), SNMP_ERR_NOACCESS);
	stats(&after);
	CU_ASSERT_EQUAL(after.attempts, before.attempts);
	req_add(&q, o_refused, L(o_refused), ASN_NULL, 0);
	run_mode(&q, MODE_GET);
	CU_ASSERT(q.vars->type == ASN_COUNTER && *q.vars->val.integer == 3);
	req_free(&q);
	req_add(&q, o_scope, L(o_scope), ASN_NULL, 0);
	run_mode(&q, MODE_GET);
	CU_ASSERT_EQUAL(*q.vars->val.integer, 1); /* rates(1) */
	req_free(&q);
	/* the rates still go */
	CU_ASSERT_EQUAL(set1(o_upload, L(o_upload), ASN_UNSIGNED, 5000, NULL), 0);
	CU_ASSERT_EQUAL(engine_version(eng), 2);

	scope = "reload";
	setup(NULL);
	scope = "all";
	CU_ASSERT_EQUAL(set1(o_rollback, L(o_rollback), ASN_UNSIGNED, 1, NULL), SNMP_ERR_NOACCESS);
	CU_ASSERT_EQUAL(set1(o_reload, L(o_reload), ASN_INTEGER, 2, NULL), 0);
}

/* sssConfigSpinLock (TestAndIncr): a SET with the value read succeeds and
 * moves it on; a SET with a stale value fails and changes nothing, even
 * with a rate in the same PDU. */
static void test_spin_lock(void)
{
	static const oid o_lock[] = { R, 1, 10, 0 };
	struct reload_stats before, after;
	struct req q = { 0 };

	setup(NULL);
	stats(&before);
	CU_ASSERT_EQUAL(set1(o_lock, L(o_lock), ASN_INTEGER, 0, NULL), 0);
	stats(&after);
	CU_ASSERT_EQUAL(after.attempts, before.attempts); /* the lock alone: no attempt */
	req_add(&q, o_lock, L(o_lock), ASN_NULL, 0);
	run_mode(&q, MODE_GET);
	CU_ASSERT_EQUAL(*q.vars->val.integer, 1);
	req_free(&q);
	/* stale: 0 again, with a rate: nothing */
	req_add(&q, o_lock, L(o_lock), ASN_INTEGER, 0);
	req_add(&q, o_upload, L(o_upload), ASN_UNSIGNED, 5000);
	CU_ASSERT_EQUAL(set_pdu(&q, false, NULL), SNMP_ERR_INCONSISTENTVALUE);
	CU_ASSERT_EQUAL(engine_version(eng), 1);
	/* current: 1, with a rate: applied, and the lock is 2 */
	req_add(&q, o_lock, L(o_lock), ASN_INTEGER, 1);
	req_add(&q, o_upload, L(o_upload), ASN_UNSIGNED, 5000);
	CU_ASSERT_EQUAL(set_pdu(&q, false, NULL), 0);
	CU_ASSERT_EQUAL(engine_version(eng), 2);
	req_add(&q, o_lock, L(o_lock), ASN_NULL, 0);
	run_mode(&q, MODE_GET);
	CU_ASSERT_EQUAL(*q.vars->val.integer, 2);
	req_free(&q);
	CU_ASSERT_EQUAL(set1(o_lock, L(o_lock), ASN_INTEGER, -1, NULL), SNMP_ERR_WRONGVALUE);
}

/* sssNotificationsEnabled: written back like the rates; and the SET's own
 * result stays readable in sssSnmpLast* when a file edit lands after it. */
static void test_notifications_and_snmp_last(void)
{
	static const oid o_notes[] = { R, 1, 9, 0 }, o_last_result[] = { R, 6, 6, 0 },
			 o_last_version[] = { R, 6, 7, 0 };
	struct req q = { 0 };

	setup(NULL);
	CU_ASSERT_EQUAL(set1(o_notes, L(o_notes), ASN_INTEGER, 2, NULL), 0);
	struct config *c = engine_current(eng);
	CU_ASSERT_FALSE(c->monitor.notifications);
	cfg_unref(c);
	char *t = file_text();
	CU_ASSERT_PTR_NOT_NULL(strstr(t, "monitor = { snmp_write = \"all\"; notifications = false; };"));
	free(t);
	/* a file reload after it: sssReloadLast* moves on, sssSnmpLast* not */
	t = file_text();
	char *p = strstr(t, "10000");
	memcpy(p, "20000", 5);
	tu_write(conf, t);
	free(t);
	CU_ASSERT_EQUAL(engine_reload(eng, RELOAD_SRC_FILE, NULL, NULL), RELOAD_APPLIED);
	req_add(&q, o_last_result, L(o_last_result), ASN_NULL, 0);
	req_add(&q, o_last_version, L(o_last_version), ASN_NULL, 0);
	run_mode(&q, MODE_GET);
	CU_ASSERT_EQUAL(*q.vars->val.integer, RELOAD_APPLIED);
	CU_ASSERT_EQUAL(*q.vars->next_variable->val.integer, 2);
	req_free(&q);
}

/* ---- text helpers ------------------------------------------------------------- */

static void test_text(void)
{
	char big[600], out[256];
	struct timespec t = { .tv_sec = 1700000000, .tv_nsec = 730000000 };
	unsigned char d[11];
	static const unsigned char want[11] = { 0x07, 0xE7, 11, 14, 22, 13, 20, 7, '+', 0, 0 };

	/* "é" is two bytes: a cut at 2 may not split it. */
	CU_ASSERT_EQUAL(mib_utf8_cut("a\xC3\xA9z", 2), 1);
	CU_ASSERT_EQUAL(mib_utf8_cut("a\xC3\xA9z", 3), 3);
	CU_ASSERT_EQUAL(mib_utf8_cut("abc", 255), 3);

	mib_changed_text("tunnel.upload_kbps", out);
	CU_ASSERT_STRING_EQUAL(out, "tunnel.upload_kbps");
	big[0] = '\0';
	while (strlen(big) < 400)
		strcat(big, "tunnel.upload_kbps,");
	mib_changed_text(big, out);
	CU_ASSERT(strlen(out) <= 255);
	size_t n = strlen(out);
	CU_ASSERT_STRING_EQUAL(out + n - 3, "\xE2\x80\xA6");
	CU_ASSERT_EQUAL(out[n - 4], ','); /* cut after a whole key */

	mib_date_and_time(&t, d);
	CU_ASSERT_EQUAL(memcmp(d, want, 11), 0);
}

int main(void)
{
	if (CU_initialize_registry() != CUE_SUCCESS)
		return 2;
	dir = tu_tmpdir();
	conf = tu_path(dir, "sssonector.conf");
	conf = strdup(conf);
	CU_pSuite s = CU_add_suite("mib", NULL, NULL);
	CU_add_test(s, "GET of every scalar: type and value", test_get_every_scalar);
	CU_add_test(s, "GET errors", test_get_errors);
	CU_add_test(s, "GETNEXT walks scalars and history in order", test_walk);
	CU_add_test(s, "SET RESERVE1 error classes", test_set_reserve1_errors);
	CU_add_test(s, "SET applies, writes back, notifies; unchanged", test_set_applies_and_writes_back);
	CU_add_test(s, "SET UNDO restores state and file", test_set_undo);
	CU_add_test(s, "SET refused by validation in RESERVE2", test_set_validation_refused);
	CU_add_test(s, "SET refused: disk differs", test_set_disk_differs);
	CU_add_test(s, "SET refused: value in an @include", test_set_include_refused);
	CU_add_test(s, "SET after a comment-only edit keeps the comment", test_set_after_comment_edit);
	CU_add_test(s, "ACTION fails: commitFailed, nothing changed", test_set_commit_failed);
	CU_add_test(s, "sssConfigReload and sssConfigRollback", test_reload_and_rollback);
	CU_add_test(s, "a SET phase times out", test_set_timeout);
	CU_add_test(s, "ACTION outlives its wait: undone, counted", test_set_action_timeout);
	CU_add_test(s, "monitor.snmp_write: noAccess, counted", test_write_scope);
	CU_add_test(s, "sssConfigSpinLock", test_spin_lock);
	CU_add_test(s, "sssNotificationsEnabled and sssSnmpLast*", test_notifications_and_snmp_last);
	CU_add_test(s, "text and time helpers", test_text);
	int rc = tu_run();
	if (eng) {
		atomic_store(&ctl_stop, true);
		pthread_join(ctl, NULL);
		mib_free(mib);
		engine_free(eng);
	}
	return rc;
}
