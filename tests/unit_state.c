/* SPDX-License-Identifier: MIT */
/*
 * unit_state.c - the state directory (state.c) and the engine's use of it:
 * versions that count up across restarts and never reuse an undone
 * number, the history and its bytes after a restart, the last good
 * version, a damaged file, the lock, and a version number that cannot be
 * recorded.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <CUnit/Basic.h>

#include "config.h"
#include "reload.h"
#include "state.h"
#include "testutil.h"

static const char *dir;   /* reload.state_dir */
static const char *conf_dir;
static const char *conf;  /* conf_dir/state.conf */

/* The test configuration with throttle.burst_ms = ms (0 is invalid). */
static void write_burst(int ms)
{
	char extra[1024];

	snprintf(extra, sizeof(extra), "throttle = { burst_ms = %d; };\n"
		 "reload = { state_dir = \"%s\"; history = 4; };", ms, dir);
	tu_server_conf(conf_dir, "state.conf", extra);
}

static struct state *open_state(void)
{
	char err[512];
	struct state *s = state_open(dir, conf, (uid_t)-1, (gid_t)-1, NULL, err, sizeof(err));

	if (!s)
		fprintf(stderr, "state_open: %s\n", err);
	return s;
}

/* An engine on conf with the state; the caller frees both. */
static struct engine *engine_with_state(struct state **st)
{
	struct engine *e = engine_new(conf);

	*st = open_state();
	CU_ASSERT_PTR_NOT_NULL_FATAL(*st);
	engine_set_state(e, *st);
	return e;
}

static void test_store_and_read(void)
{
	char err[256];
	struct state *s = open_state();
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	CU_ASSERT_EQUAL(state_last_version(s), 0);
	/* the directory is named after the configuration's absolute path */
	CU_ASSERT_PTR_NOT_NULL(strstr(state_dir(s), "-state.conf"));
	CU_ASSERT_PTR_NULL(strchr(state_dir(s) + strlen(dir) + 1, '/'));

	/* Held by this process: a second daemon on the same file is refused. */
	struct state *again = state_open(dir, conf, (uid_t)-1, (gid_t)-1, NULL, err, sizeof(err));
	CU_ASSERT_PTR_NULL(again);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "in use by another sssonector"));

	CU_ASSERT_EQUAL(state_reserve(s, 5, err, sizeof(err)), 0);
	struct state_entry in = {
		.version = 3, .applied_at = { 1700000000, 123456789 }, .source = 4,
		.changed = "tunnel.upload_kbps,throttle.enabled",
		.text = (unsigned char *)"a = 1;\n\nb = \"x\";\n", .len = 17,
	};
	memset(in.hash, 0xab, SHA256_LEN);
	CU_ASSERT_EQUAL(state_save(s, &in, err, sizeof(err)), 0);
	in.version = 4;
	CU_ASSERT_EQUAL(state_save(s, &in, err, sizeof(err)), 0);
	state_close(s);

	s = open_state();
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	CU_ASSERT_EQUAL(state_last_version(s), 5);
	const struct state_entry *v;
	size_t n = state_entries(s, &v);
	CU_ASSERT_EQUAL_FATAL(n, 2);
	CU_ASSERT_EQUAL(v[0].version, 3);
	CU_ASSERT_EQUAL(v[1].version, 4);
	CU_ASSERT_EQUAL(v[0].applied_at.tv_sec, 1700000000);
	CU_ASSERT_EQUAL(v[0].applied_at.tv_nsec, 123456789);
	CU_ASSERT_EQUAL(v[0].source, 4);
	CU_ASSERT_STRING_EQUAL(v[0].changed, "tunnel.upload_kbps,throttle.enabled");
	CU_ASSERT_EQUAL(v[0].len, 17);
	CU_ASSERT_EQUAL(memcmp(v[0].text, in.text, 17), 0);
	CU_ASSERT_EQUAL(memcmp(v[0].hash, in.hash, SHA256_LEN), 0);

	/* A damaged file is skipped and named, never half-used. */
	char path[1024];
	snprintf(path, sizeof(path), "%s/version-4", state_dir(s));
	FILE *f = fopen(path, "r+");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	fseek(f, -3, SEEK_END);
	fputc('Z', f);
	fclose(f);
	state_trim(s, 4); /* forgets version 3 */
	state_close(s);
	struct sbuf warn = { 0 };
	s = state_open(dir, conf, (uid_t)-1, (gid_t)-1, &warn, err, sizeof(err));
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	CU_ASSERT_EQUAL(state_entries(s, &v), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(sbuf_str(&warn), "version-4: damaged"));
	CU_ASSERT_EQUAL(state_last_version(s), 5);
	sbuf_free(&warn);
	state_close(s);

	/* A relative state directory is refused. */
	CU_ASSERT_PTR_NULL(state_open("relative/dir", conf, (uid_t)-1, (gid_t)-1, NULL, err, sizeof(err)));
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "absolute"));
}

/* Versions count up across restarts; an undone number is never reused;
 * the history and its bytes survive. */
static void test_engine_versions_survive(void)
{
	struct state *st;
	struct engine *e;
	char *v3_text;
	size_t v3_len;
	uint8_t v3_hash[SHA256_LEN];

	/* start from an empty state */
	dir = tu_tmpdir();
	write_burst(1000);
	e = engine_with_state(&st);
	CU_ASSERT_FATAL(engine_reload(e, RELOAD_SRC_STARTUP, NULL, NULL) == RELOAD_APPLIED);
	CU_ASSERT_EQUAL(engine_version(e), 1);
	write_burst(2000);
	CU_ASSERT_EQUAL(engine_reload(e, RELOAD_SRC_FILE, NULL, NULL), RELOAD_APPLIED);
	write_burst(3000);
	CU_ASSERT_EQUAL(engine_reload(e, RELOAD_SRC_SIGNAL, NULL, NULL), RELOAD_APPLIED);
	CU_ASSERT_EQUAL(engine_version(e), 3);
	struct config *c = engine_current(e);
	v3_len = c->text_len;
	v3_text = malloc(v3_len);
	memcpy(v3_text, c->text, v3_len);
	memcpy(v3_hash, c->hash, SHA256_LEN);
	cfg_unref(c);

	/* An SNMP SET applied then undone: 4 is burned. */
	write_burst(4000);
	struct reload_input hold = { .hold = true };
	CU_ASSERT_EQUAL(engine_reload(e, RELOAD_SRC_SNMP, &hold, NULL), RELOAD_APPLIED);
	CU_ASSERT_EQUAL(engine_version(e), 4);
	engine_revert(e, NULL);
	CU_ASSERT_EQUAL(engine_version(e), 3);
	write_burst(5000);
	CU_ASSERT_EQUAL(engine_reload(e, RELOAD_SRC_FILE, NULL, NULL), RELOAD_APPLIED);
	CU_ASSERT_EQUAL(engine_version(e), 5);
	engine_free(e);
	state_close(st);

	/* Restart: the count goes on, the history is there. */
	e = engine_with_state(&st);
	CU_ASSERT_FATAL(engine_reload(e, RELOAD_SRC_STARTUP, NULL, NULL) == RELOAD_APPLIED);
	CU_ASSERT_EQUAL(engine_version(e), 6);
	struct reload_history *h;
	size_t n = engine_history(e, &h);
	/* newest first, reload.history = 4 kept: 6 5 3 2 (4 was undone) */
	CU_ASSERT_EQUAL_FATAL(n, 4);
	CU_ASSERT_EQUAL(h[0].version, 6);
	CU_ASSERT_EQUAL(h[1].version, 5);
	CU_ASSERT_EQUAL(h[2].version, 3);
	CU_ASSERT_EQUAL(h[3].version, 2);
	CU_ASSERT_EQUAL(h[0].source, RELOAD_SRC_STARTUP);
	CU_ASSERT_EQUAL(h[2].source, RELOAD_SRC_SIGNAL);
	CU_ASSERT_STRING_EQUAL(h[2].changed, "throttle.burst_ms");
	engine_history_free(h, n);
	struct reload_history one;
	CU_ASSERT_EQUAL_FATAL(engine_history_find(e, 3, &one), 0);
	/* What a rollback re-applies: version 3's bytes, hash as it ran. */
	CU_ASSERT_EQUAL(one.cfg->text_len, v3_len);
	CU_ASSERT_EQUAL(memcmp(one.cfg->text, v3_text, v3_len), 0);
	CU_ASSERT_EQUAL(memcmp(one.hash, v3_hash, SHA256_LEN), 0);
	CU_ASSERT_EQUAL(one.cfg->throttle.burst_ms, 3000);
	reload_history_clear(&one);
	CU_ASSERT_NOT_EQUAL(engine_history_find(e, 4, &one), 0);
	/* Rolled back as a new version, never as 3 again. */
	CU_ASSERT_EQUAL(engine_reload(e, RELOAD_SRC_ROLLBACK,
				      &(struct reload_input){ .text = v3_text, .len = v3_len }, NULL),
			RELOAD_APPLIED);
	CU_ASSERT_EQUAL(engine_version(e), 7);
	engine_free(e);
	state_close(st);
	free(v3_text);
}

/* The file is invalid at startup: the newest stored version runs under its
 * own number, and the counters say why the file was refused. */
static void test_last_good(void)
{
	struct state *st;
	struct engine *e;
	struct cfg_errors errs = { 0 };

	dir = tu_tmpdir();
	write_burst(1000);
	e = engine_with_state(&st);
	CU_ASSERT_FATAL(engine_reload(e, RELOAD_SRC_STARTUP, NULL, NULL) == RELOAD_APPLIED);
	/* nothing stored yet: no last good version before the first start */
	engine_free(e);
	state_close(st);

	write_burst(2000);
	e = engine_with_state(&st);
	CU_ASSERT_FATAL(engine_reload(e, RELOAD_SRC_STARTUP, NULL, NULL) == RELOAD_APPLIED);
	CU_ASSERT_EQUAL(engine_version(e), 2);
	engine_free(e);
	state_close(st);

	write_burst(0); /* out of range */
	e = engine_with_state(&st);
	CU_ASSERT_EQUAL(engine_reload(e, RELOAD_SRC_STARTUP, NULL, NULL), RELOAD_VALIDATION_ERROR);
	CU_ASSERT_EQUAL(engine_start_last_good(e, &errs), 2);
	CU_ASSERT_EQUAL(errs.n, 0);
	CU_ASSERT_EQUAL(engine_version(e), 2);
	struct config *c = engine_current(e);
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	CU_ASSERT_EQUAL(c->throttle.burst_ms, 2000);
	cfg_unref(c);
	struct reload_stats rs;
	engine_stats(e, &rs);
	CU_ASSERT_EQUAL(rs.last_result, RELOAD_VALIDATION_ERROR);
	CU_ASSERT_PTR_NOT_NULL(strstr(rs.last_error, "throttle.burst_ms: must be between 1 and 10000"));
	/* fixed: the next change gets a new number */
	write_burst(3000);
	CU_ASSERT_EQUAL(engine_reload(e, RELOAD_SRC_FILE, NULL, NULL), RELOAD_APPLIED);
	CU_ASSERT_EQUAL(engine_version(e), 3);
	engine_free(e);
	state_close(st);

	/* Without stored versions there is nothing to start with. */
	dir = tu_tmpdir();
	write_burst(0);
	e = engine_with_state(&st);
	CU_ASSERT_EQUAL(engine_reload(e, RELOAD_SRC_STARTUP, NULL, NULL), RELOAD_VALIDATION_ERROR);
	CU_ASSERT_EQUAL(engine_start_last_good(e, &errs), 0);
	CU_ASSERT_EQUAL(errs.n, 1);
	CU_ASSERT_PTR_NULL(engine_current(e));
	cfg_errors_free(&errs);
	engine_free(e);
	state_close(st);
}

/* A version number that cannot be recorded rejects the change at prepare:
 * nothing is committed, the running version stays. */
static void test_reserve_fails(void)
{
	struct state *st;
	struct engine *e;
	struct reload_outcome out = { 0 };
	char path[1024];

	dir = tu_tmpdir();
	write_burst(1000);
	e = engine_with_state(&st);
	CU_ASSERT_FATAL(engine_reload(e, RELOAD_SRC_STARTUP, NULL, NULL) == RELOAD_APPLIED);
	/* last-version cannot be replaced while it is a non-empty directory
	 * (root ignores modes; this it cannot get around) */
	snprintf(path, sizeof(path), "%s/last-version", state_dir(st));
	CU_ASSERT_EQUAL_FATAL(unlink(path), 0);
	CU_ASSERT_EQUAL_FATAL(mkdir(path, 0700), 0);
	snprintf(path, sizeof(path), "%s/last-version/x", state_dir(st));
	CU_ASSERT_EQUAL_FATAL(mkdir(path, 0700), 0);
	write_burst(2000);
	CU_ASSERT_EQUAL(engine_reload(e, RELOAD_SRC_FILE, NULL, &out), RELOAD_APPLY_ERROR);
	CU_ASSERT_EQUAL_FATAL(out.errors.n, 1);
	CU_ASSERT_STRING_EQUAL(out.errors.v[0].key, "reload.state_dir");
	CU_ASSERT_EQUAL(engine_version(e), 1);
	struct config *c = engine_current(e);
	CU_ASSERT_EQUAL(c->throttle.burst_ms, 1000);
	cfg_unref(c);
	reload_outcome_free(&out);
	engine_free(e);
	state_close(st);
}

int main(void)
{
	if (CU_initialize_registry() != CUE_SUCCESS)
		return 99;
	dir = tu_tmpdir();
	conf_dir = tu_tmpdir();
	conf = strdup(tu_path(conf_dir, "state.conf"));
	CU_pSuite s = CU_add_suite("state", NULL, NULL);
	CU_add_test(s, "store, read back, damage, lock", test_store_and_read);
	CU_add_test(s, "versions and history survive a restart", test_engine_versions_survive);
	CU_add_test(s, "last good version", test_last_good);
	CU_add_test(s, "a version number that cannot be recorded", test_reserve_fails);
	int rc = tu_run();
	free((char *)conf);
	return rc;
}
