/* SPDX-License-Identifier: MIT */
/*
 * unit_reload.c - the engine: atomicity with a fault injected at every
 * component position, unchanged detection, counters and their invariant,
 * hold/revert/release, history, the audit line, and engine_call from
 * another thread.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <CUnit/Basic.h>

#include "config.h"
#include "reload.h"
#include "testutil.h"

/* ---- fake components that record what the engine does with them ------ */

#define N_FAKE 4

static char journal[4096];
static int fail_at = -1;   /* index of the component whose prepare fails */
static int live_value[N_FAKE]; /* what each fake "runs": upload_kbps */

struct fake_staged {
	int value;
};

/* Append "<step><component> " to the journal, e.g. "P2 ". */
static void note(char step, int i)
{
	size_t n = strlen(journal);
	snprintf(journal + n, sizeof(journal) - n, "%c%d ", step, i);
}

static int fake_prepare(void *ctx, const struct config *old, const struct config *new_cfg,
			void **staged, struct cfg_errors *errs)
{
	int i = (int)(intptr_t)ctx;

	note('P', i);
	if (i == fail_at) {
		cfg_errors_add(errs, new_cfg->path, 0, "fake", NULL, "injected failure in %d", i);
		return -1;
	}
	struct fake_staged *s = malloc(sizeof(*s));
	s->value = new_cfg->tunnel.upload_kbps;
	*staged = s;
	return 0;
}

static void fake_commit(void *ctx, void *staged)
{
	int i = (int)(intptr_t)ctx;
	struct fake_staged *s = staged;
	int old = live_value[i];

	note('C', i);
	live_value[i] = s->value;
	s->value = old;
}

static void fake_revert(void *ctx, void *staged)
{
	note('R', (int)(intptr_t)ctx);
	fake_commit(ctx, staged); /* a swap is its own inverse; journal shows C too */
}

static void fake_abort(void *ctx, void *staged)
{
	note('A', (int)(intptr_t)ctx);
	free(staged);
}

static const char *conf_dir;
static const char *conf;

static struct engine *new_engine(void)
{
	struct engine *e = engine_new(conf);

	for (int i = 0; i < N_FAKE; i++) {
		struct component c = {
			.name = "fake",
			.prepare = fake_prepare,
			.commit = fake_commit,
			.revert = fake_revert,
			.abort = fake_abort,
			.ctx = (void *)(intptr_t)i,
		};
		engine_register(e, &c);
	}
	return e;
}

/* The test configuration with tunnel.upload_kbps = kbps and extra lines. */
static void write_rate(int kbps, const char *extra)
{
	const char *pki = tu_pki();
	char text[4096];
	snprintf(text, sizeof(text),
		 "mode = \"server\";\n"
		 "tunnel = {\n"
		 "  listen = \"127.0.0.1:44300\";\n"
		 "  cert_file = \"%s/server.crt\";\n"
		 "  key_file = \"%s/server.key\";\n"
		 "  ca_file = \"%s/ca.crt\";\n"
		 "  upload_kbps = %d;\n"
		 "};\n"
		 "forward = { target = \"127.0.0.1:5201\"; };\n"
		 "%s\n",
		 pki, pki, pki, kbps, extra ? extra : "");
	tu_write(conf, text);
}

static void check_invariant(struct engine *e)
{
	struct reload_stats st;

	engine_stats(e, &st);
	CU_ASSERT_EQUAL(st.attempts, st.successes + st.failures + st.unchanged);
	CU_ASSERT_EQUAL(st.failures, st.parse_errors + st.validation_errors + st.apply_errors);
}

static void test_startup(void)
{
	write_rate(1000, NULL);
	journal[0] = '\0';
	memset(live_value, 0, sizeof(live_value));
	struct engine *e = new_engine();
	CU_ASSERT_EQUAL(engine_reload(e, RELOAD_SRC_STARTUP, NULL, NULL), RELOAD_APPLIED);
	CU_ASSERT_EQUAL(engine_version(e), 1);
	CU_ASSERT_STRING_EQUAL(journal, "P0 P1 P2 P3 C0 C1 C2 C3 A3 A2 A1 A0 ");
	for (int i = 0; i < N_FAKE; i++)
		CU_ASSERT_EQUAL(live_value[i], 1000);
	struct reload_stats st;
	engine_stats(e, &st);
	CU_ASSERT_EQUAL(st.attempts, 1);
	CU_ASSERT_EQUAL(st.successes, 1);
	CU_ASSERT_EQUAL(st.last_source, RELOAD_SRC_STARTUP);
	CU_ASSERT_EQUAL(st.last_result, RELOAD_APPLIED);
	check_invariant(e);
	engine_free(e);
}

/* A fault at each position: everything prepared before it is aborted in
 * reverse, nothing is committed, version and hash stay. */
static void test_atomic_fault_each_position(void)
{
	for (int k = 0; k < N_FAKE; k++) {
		write_rate(1000, NULL);
		memset(live_value, 0, sizeof(live_value));
		struct engine *e = new_engine();
		fail_at = -1;
		CU_ASSERT_FATAL(engine_reload(e, RELOAD_SRC_STARTUP, NULL, NULL) == RELOAD_APPLIED);
		struct config *before = engine_current(e);

		write_rate(2000, NULL);
		fail_at = k;
		journal[0] = '\0';
		struct reload_outcome out = { 0 };
		CU_ASSERT_EQUAL(engine_reload(e, RELOAD_SRC_FILE, NULL, &out), RELOAD_APPLY_ERROR);
		char want[256] = "";
		for (int i = 0; i <= k; i++)
			snprintf(want + strlen(want), sizeof(want) - strlen(want), "P%d ", i);
		for (int i = k - 1; i >= 0; i--)
			snprintf(want + strlen(want), sizeof(want) - strlen(want), "A%d ", i);
		CU_ASSERT_STRING_EQUAL(journal, want);
		for (int i = 0; i < N_FAKE; i++)
			CU_ASSERT_EQUAL(live_value[i], 1000);
		CU_ASSERT_EQUAL(engine_version(e), 1);
		struct config *after = engine_current(e);
		CU_ASSERT_PTR_EQUAL(before, after);
		CU_ASSERT_EQUAL(memcmp(before->hash, after->hash, SHA256_LEN), 0);
		CU_ASSERT_EQUAL(out.errors.n, 1);
		struct reload_stats st;
		engine_stats(e, &st);
		CU_ASSERT_EQUAL(st.apply_errors, 1);
		CU_ASSERT_EQUAL(st.last_result, RELOAD_APPLY_ERROR);
		CU_ASSERT_PTR_NOT_NULL(strstr(st.last_error, "injected failure"));
		check_invariant(e);

		/* The same change goes through once the fault is gone. */
		fail_at = -1;
		CU_ASSERT_EQUAL(engine_reload(e, RELOAD_SRC_FILE, NULL, NULL), RELOAD_APPLIED);
		CU_ASSERT_EQUAL(engine_version(e), 2);
		for (int i = 0; i < N_FAKE; i++)
			CU_ASSERT_EQUAL(live_value[i], 2000);
		reload_outcome_free(&out);
		cfg_unref(before);
		cfg_unref(after);
		engine_free(e);
	}
}

static void test_unchanged_and_errors(void)
{
	write_rate(1000, NULL);
	struct engine *e = new_engine();
	CU_ASSERT_FATAL(engine_reload(e, RELOAD_SRC_STARTUP, NULL, NULL) == RELOAD_APPLIED);

	/* A comment-only edit. */
	write_rate(1000, "# just a comment\n");
	journal[0] = '\0';
	CU_ASSERT_EQUAL(engine_reload(e, RELOAD_SRC_SIGNAL, NULL, NULL), RELOAD_UNCHANGED);
	CU_ASSERT_STRING_EQUAL(journal, "");
	CU_ASSERT_EQUAL(engine_version(e), 1);

	/* Out of range: validation error, nothing prepared. */
	write_rate(0, NULL);
	struct reload_outcome out = { 0 };
	CU_ASSERT_EQUAL(engine_reload(e, RELOAD_SRC_FILE, NULL, &out), RELOAD_VALIDATION_ERROR);
	CU_ASSERT_STRING_EQUAL(journal, "");
	CU_ASSERT_FATAL(out.errors.n >= 1);
	CU_ASSERT_STRING_EQUAL(out.errors.v[0].key, "tunnel.upload_kbps");
	reload_outcome_free(&out);

	/* Broken syntax: tentative is not counted, the real one is. */
	tu_write(conf, "mode = \"server\"\ntunnel = {\n");
	struct reload_stats st0, st1;
	engine_stats(e, &st0);
	struct reload_input tent = { .tentative = true };
	CU_ASSERT_EQUAL(engine_reload(e, RELOAD_SRC_FILE, &tent, NULL), RELOAD_PARSE_ERROR);
	engine_stats(e, &st1);
	CU_ASSERT_EQUAL(st1.attempts, st0.attempts);
	CU_ASSERT_EQUAL(engine_reload(e, RELOAD_SRC_FILE, NULL, NULL), RELOAD_PARSE_ERROR);
	engine_stats(e, &st1);
	CU_ASSERT_EQUAL(st1.attempts, st0.attempts + 1);
	CU_ASSERT_EQUAL(st1.parse_errors, 1);
	CU_ASSERT_EQUAL(st1.validation_errors, 1);
	CU_ASSERT_EQUAL(st1.unchanged, 1);
	CU_ASSERT_EQUAL(st1.last_source, RELOAD_SRC_FILE);
	CU_ASSERT_EQUAL(engine_version(e), 1);
	check_invariant(e);

	/* A restart-only key. */
	write_rate(1000, "monitor = { agentx_socket = \"/run/other-agentx\"; };\n");
	CU_ASSERT_EQUAL(engine_reload(e, RELOAD_SRC_FILE, NULL, &out), RELOAD_VALIDATION_ERROR);
	bool found = false;
	for (size_t i = 0; i < out.errors.n; i++)
		if (out.errors.v[i].key && !strcmp(out.errors.v[i].key, "monitor.agentx_socket") &&
		    strstr(out.errors.v[i].message, "cannot change while running (restart required)"))
			found = true;
	CU_ASSERT(found);
	reload_outcome_free(&out);
	check_invariant(e);
	engine_free(e);
}

/* Bytes given by the caller (rollback, SNMP) instead of the file. */
static void test_text_input_and_validate(void)
{
	write_rate(1000, NULL);
	struct engine *e = new_engine();
	CU_ASSERT_FATAL(engine_reload(e, RELOAD_SRC_STARTUP, NULL, NULL) == RELOAD_APPLIED);
	struct config *v1 = engine_current(e);

	write_rate(3000, NULL);
	struct cfg_errors errs = { 0 };
	unsigned char *text;
	size_t len;
	CU_ASSERT_FATAL(read_file(conf, CFG_PEM_MAX, &text, &len) == 0);
	journal[0] = '\0';
	CU_ASSERT_EQUAL(engine_validate(e, text, len, &errs), RELOAD_APPLIED);
	CU_ASSERT_STRING_EQUAL(journal, "");
	CU_ASSERT_EQUAL(engine_version(e), 1);
	CU_ASSERT_EQUAL(engine_validate(e, v1->text, v1->text_len, &errs), RELOAD_UNCHANGED);
	CU_ASSERT_EQUAL(errs.n, 0);

	CU_ASSERT_EQUAL(engine_reload(e, RELOAD_SRC_FILE, NULL, NULL), RELOAD_APPLIED);
	CU_ASSERT_EQUAL(live_value[0], 3000);
	/* Re-apply version 1's bytes, as a rollback does. */
	struct reload_input in = { .text = v1->text, .len = v1->text_len };
	CU_ASSERT_EQUAL(engine_reload(e, RELOAD_SRC_ROLLBACK, &in, NULL), RELOAD_APPLIED);
	CU_ASSERT_EQUAL(live_value[0], 1000);
	CU_ASSERT_EQUAL(engine_version(e), 3);
	struct config *now = engine_current(e);
	CU_ASSERT_EQUAL(memcmp(now->hash, v1->hash, SHA256_LEN), 0);
	cfg_unref(now);
	cfg_unref(v1);
	free(text);
	cfg_errors_free(&errs);
	engine_free(e);
}

static void test_hold_revert_release(void)
{
	write_rate(1000, NULL);
	struct engine *e = new_engine();
	CU_ASSERT_FATAL(engine_reload(e, RELOAD_SRC_STARTUP, NULL, NULL) == RELOAD_APPLIED);
	struct config *v1 = engine_current(e);

	write_rate(4000, NULL);
	struct reload_input hold = { .hold = true };
	journal[0] = '\0';
	CU_ASSERT_EQUAL(engine_reload(e, RELOAD_SRC_SNMP, &hold, NULL), RELOAD_APPLIED);
	CU_ASSERT_STRING_EQUAL(journal, "P0 P1 P2 P3 C0 C1 C2 C3 ");
	CU_ASSERT(engine_holding(e));
	CU_ASSERT_EQUAL(engine_version(e), 2);
	CU_ASSERT_EQUAL(live_value[2], 4000);

	journal[0] = '\0';
	engine_revert(e, NULL);
	if (strcmp(journal, "R3 C3 R2 C2 R1 C1 R0 C0 A3 A2 A1 A0 "))
		fprintf(stderr, "journal: %s\n", journal);
	CU_ASSERT_STRING_EQUAL(journal, "R3 C3 R2 C2 R1 C1 R0 C0 A3 A2 A1 A0 ");
	CU_ASSERT(!engine_holding(e));
	CU_ASSERT_EQUAL(engine_version(e), 1);
	for (int i = 0; i < N_FAKE; i++)
		CU_ASSERT_EQUAL(live_value[i], 1000);
	struct config *cur = engine_current(e);
	CU_ASSERT_PTR_EQUAL(cur, v1);
	cfg_unref(cur);
	struct reload_history *h;
	size_t n = engine_history(e, &h);
	CU_ASSERT_EQUAL(n, 1);
	engine_history_free(h, n);
	/* Counted once its fate is known: an apply error, with the reason. */
	struct reload_stats st;
	engine_stats(e, &st);
	CU_ASSERT_EQUAL(st.attempts, 2);
	CU_ASSERT_EQUAL(st.successes, 1);
	CU_ASSERT_EQUAL(st.apply_errors, 1);
	CU_ASSERT_EQUAL(st.last_result, RELOAD_APPLY_ERROR);
	/* Nothing held: a second revert does nothing. */
	journal[0] = '\0';
	engine_revert(e, NULL);
	CU_ASSERT_STRING_EQUAL(journal, "");

	/* Hold then release: the change stays. */
	CU_ASSERT_EQUAL(engine_reload(e, RELOAD_SRC_SNMP, &hold, NULL), RELOAD_APPLIED);
	journal[0] = '\0';
	engine_release(e);
	CU_ASSERT_STRING_EQUAL(journal, "A3 A2 A1 A0 ");
	/* Version 2 was undone: its number is never handed out again. */
	CU_ASSERT_EQUAL(engine_version(e), 3);
	CU_ASSERT_EQUAL(live_value[1], 4000);
	cfg_unref(v1);
	engine_free(e);
}

static void test_history(void)
{
	write_rate(1000, "reload = { history = 3; };");
	struct engine *e = new_engine();
	CU_ASSERT_FATAL(engine_reload(e, RELOAD_SRC_STARTUP, NULL, NULL) == RELOAD_APPLIED);
	for (int i = 1; i <= 5; i++) {
		write_rate(1000 + i, "reload = { history = 3; };");
		CU_ASSERT_EQUAL(engine_reload(e, RELOAD_SRC_FILE, NULL, NULL), RELOAD_APPLIED);
	}
	struct reload_history *h;
	size_t n = engine_history(e, &h);
	CU_ASSERT_EQUAL_FATAL(n, 3);
	CU_ASSERT_EQUAL(h[0].version, 6);
	CU_ASSERT_EQUAL(h[2].version, 4);
	CU_ASSERT_EQUAL(h[0].source, RELOAD_SRC_FILE);
	CU_ASSERT_STRING_EQUAL(h[0].changed, "tunnel.upload_kbps");
	CU_ASSERT_EQUAL(h[0].cfg->tunnel.upload_kbps, 1005);
	CU_ASSERT_EQUAL(memcmp(h[0].hash, h[0].cfg->hash, SHA256_LEN), 0);
	struct reload_history one;
	CU_ASSERT_EQUAL(engine_history_find(e, 5, &one), 0);
	CU_ASSERT_EQUAL(one.cfg->tunnel.upload_kbps, 1004);
	reload_history_clear(&one);
	CU_ASSERT_EQUAL(engine_history_find(e, 2, &one), -1);
	engine_history_free(h, n);
	engine_free(e);
}

/* The audit line: read what the engine writes to stderr. */
static char *capture(void (*fn)(struct engine *), struct engine *e)
{
	char path[600];
	snprintf(path, sizeof(path), "%s/stderr.log", conf_dir);
	fflush(stderr);
	int saved = dup(2);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	dup2(fd, 2);
	close(fd);
	fn(e);
	dup2(saved, 2);
	close(saved);
	unsigned char *data;
	size_t len;
	if (read_file(path, CFG_PEM_MAX, &data, &len) != 0)
		return strdup("");
	return (char *)data;
}

static void reload_file(struct engine *e)
{
	engine_reload(e, RELOAD_SRC_FILE, NULL, NULL);
}

static void test_audit_line(void)
{
	const char *pki = tu_pki();
	write_rate(1000, NULL);
	struct engine *e = new_engine();
	CU_ASSERT_FATAL(engine_reload(e, RELOAD_SRC_STARTUP, NULL, NULL) == RELOAD_APPLIED);

	write_rate(5000, NULL);
	char *log = capture(reload_file, e);
	CU_ASSERT_PTR_NOT_NULL(strstr(log, "event=reload result=applied version=2 source=file"));
	CU_ASSERT_PTR_NOT_NULL(strstr(log, "changed=tunnel.upload_kbps:1000->5000"));
	free(log);

	/* An encrypted key and its password: the password never shows. */
	char text[4096];
	snprintf(text, sizeof(text),
		 "mode = \"server\";\n"
		 "tunnel = {\n"
		 "  listen = \"127.0.0.1:44300\";\n"
		 "  cert_file = \"%s/server.crt\";\n"
		 "  key_file = \"%s/server-enc.key\";\n"
		 "  key_password = \"test-password\";\n"
		 "  ca_file = \"%s/ca.crt\";\n"
		 "  upload_kbps = 5000;\n"
		 "};\n"
		 "forward = { target = \"127.0.0.1:5201\"; };\n"
		 "throttle = { enabled = true; };\n",
		 pki, pki, pki);
	tu_write(conf, text);
	log = capture(reload_file, e);
	CU_ASSERT_PTR_NOT_NULL(strstr(log, "result=applied version=3"));
	CU_ASSERT_PTR_NOT_NULL(strstr(log, "tunnel.key_password"));
	CU_ASSERT_PTR_NOT_NULL(strstr(log, "********"));
	CU_ASSERT_PTR_NULL(strstr(log, "test-password"));
	free(log);

	/* A rejected attempt: result=rejected with the running version and
	 * every error on its own line. */
	write_rate(0, "throttle = { burst_ms = 0; };");
	log = capture(reload_file, e);
	CU_ASSERT_PTR_NOT_NULL(strstr(log, "event=reload result=rejected source=file stage=validate version=3"));
	CU_ASSERT_PTR_NOT_NULL(strstr(log, "tunnel.upload_kbps: must be between 8 and 100000000 (got: 0)"));
	CU_ASSERT_PTR_NOT_NULL(strstr(log, "throttle.burst_ms: must be between 1 and 10000 (got: 0)"));
	CU_ASSERT_PTR_NULL(strstr(log, "test-password"));
	free(log);
	engine_free(e);
}


/* ---- observer and engine_reject ----------------------------------------- */

static int heard;
static struct reload_event last_heard;

static void observe(void *ctx, const struct reload_event *ev)
{
	if (ev->kind != RELOAD_EV_DONE)
		return;
	heard++;
	last_heard = *ev;
}

static void test_observer_and_reject(void)
{
	write_rate(1000, NULL);
	struct engine *e = new_engine();
	heard = 0;
	engine_add_observer(e, observe, NULL);
	CU_ASSERT_FATAL(engine_reload(e, RELOAD_SRC_STARTUP, NULL, NULL) == RELOAD_APPLIED);
	CU_ASSERT_EQUAL(heard, 1);

	write_rate(2000, NULL);
	struct reload_input hold = { .hold = true };
	CU_ASSERT_EQUAL(engine_reload(e, RELOAD_SRC_SNMP, &hold, NULL), RELOAD_APPLIED);
	/* A held change is announced (and counted) when its fate is known. */
	CU_ASSERT_EQUAL(heard, 1);
	struct reload_stats st;
	engine_stats(e, &st);
	CU_ASSERT_EQUAL(st.attempts, 1);
	engine_release(e);
	CU_ASSERT_EQUAL(heard, 2);
	CU_ASSERT_EQUAL(last_heard.result, RELOAD_APPLIED);
	CU_ASSERT_EQUAL(last_heard.version, 2);
	engine_stats(e, &st);
	CU_ASSERT_EQUAL(st.successes, 2);

	/* A refusal the engine did not see itself: counted, announced, and
	 * nothing else changes. */
	struct cfg_errors why = { 0 };
	cfg_errors_add(&why, conf, 3, "tunnel.upload_kbps", NULL, "the file differs from the running version");
	journal[0] = '\0';
	engine_reject(e, RELOAD_SRC_SNMP, RELOAD_APPLY_ERROR, &why);
	CU_ASSERT_STRING_EQUAL(journal, "");
	CU_ASSERT_EQUAL(engine_version(e), 2);
	CU_ASSERT_EQUAL(heard, 3);
	CU_ASSERT_EQUAL(last_heard.result, RELOAD_APPLY_ERROR);
	CU_ASSERT_EQUAL(last_heard.source, RELOAD_SRC_SNMP);
	engine_stats(e, &st);
	CU_ASSERT_EQUAL(st.apply_errors, 1);
	CU_ASSERT_PTR_NOT_NULL(strstr(st.last_error, "tunnel.upload_kbps: the file differs"));
	check_invariant(e);
	cfg_errors_free(&why);
	engine_free(e);
}

/* ---- engine_call -------------------------------------------------------- */

struct add_arg {
	int in, out;
	pthread_t ran_on;
};

static int freed;

static void add_fn(struct engine *e, void *p)
{
	struct add_arg *a = p;
	a->out = a->in + 1;
	a->ran_on = pthread_self();
}

static void add_free(void *p)
{
	freed++;
	free(p);
}

struct caller {
	struct engine *e;
	int rc;
	int result;
	pthread_t ran_on;
	int timeout_ms;
};

static void *caller_main(void *p)
{
	struct caller *c = p;
	struct add_arg *a = calloc(1, sizeof(*a));
	a->in = 41;
	/* The caller keeps a pointer only for the success case. */
	c->rc = engine_call(c->e, add_fn, a, NULL, c->timeout_ms);
	if (c->rc == 0) {
		c->result = a->out;
		c->ran_on = a->ran_on;
	}
	free(a);
	return NULL;
}

static void test_engine_call(void)
{
	write_rate(1000, NULL);
	struct engine *e = engine_new(conf);
	struct caller c = { .e = e, .timeout_ms = 5000 };
	pthread_t t;

	pthread_create(&t, NULL, caller_main, &c);
	/* Act as the control thread until the call has run. */
	for (int i = 0; i < 500; i++) {
		struct pollfd p = { .fd = engine_call_fd(e), .events = POLLIN };
		if (poll(&p, 1, 10) > 0) {
			engine_run_calls(e);
			break;
		}
	}
	pthread_join(t, NULL);
	CU_ASSERT_EQUAL(c.rc, 0);
	CU_ASSERT_EQUAL(c.result, 42);
	CU_ASSERT(pthread_equal(c.ran_on, pthread_self()));
	engine_free(e);
}

static void test_engine_call_timeout(void)
{
	struct engine *e = engine_new("/nonexistent");
	struct add_arg *a = calloc(1, sizeof(*a));

	freed = 0;
	/* Nobody runs the queue: the call times out and is dropped. */
	CU_ASSERT_EQUAL(engine_call(e, add_fn, a, add_free, 50), -ETIMEDOUT);
	engine_run_calls(e);
	CU_ASSERT_EQUAL(freed, 1);
	engine_free(e);
}

int main(void)
{
	if (CU_initialize_registry() != CUE_SUCCESS)
		return 99;
	conf_dir = tu_tmpdir();
	conf = strdup(tu_path(conf_dir, "sssonector.conf"));
	CU_pSuite s = CU_add_suite("engine", NULL, NULL);
	CU_add_test(s, "startup", test_startup);
	CU_add_test(s, "fault at each component position", test_atomic_fault_each_position);
	CU_add_test(s, "unchanged, validation and parse errors", test_unchanged_and_errors);
	CU_add_test(s, "candidate from bytes, validate only", test_text_input_and_validate);
	CU_add_test(s, "hold, revert, release", test_hold_revert_release);
	CU_add_test(s, "history", test_history);
	CU_add_test(s, "audit line", test_audit_line);
	CU_add_test(s, "observer and engine_reject", test_observer_and_reject);
	CU_add_test(s, "engine_call from another thread", test_engine_call);
	CU_add_test(s, "engine_call timeout", test_engine_call_timeout);
	int rc = tu_run();
	free((char *)conf);
	return rc;
}
