/* SPDX-License-Identifier: MIT */
/*
 * unit_writeback.c - SNMP write-back: splicing values into the running
 * file's bytes (in place, into a group, into a new group; comments, order
 * and layout kept; @include refused), the can-it-be-written check, and
 * the atomic replacement (symlink target, owner and mode kept, no temp
 * file left behind).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <CUnit/Basic.h>

#include "config.h"
#include "testutil.h"
#include "writeback.h"

static const char *dir;

/* The common head of every test file: a valid server configuration. */
static const char *head(void)
{
	static char buf[1024];
	const char *pki = tu_pki();

	snprintf(buf, sizeof(buf),
		 "mode = \"server\";\n"
		 "forward = { target = \"127.0.0.1:5201\"; };\n"
		 "tunnel = {\n"
		 "  # upload_kbps = 1 is only a comment\n"
		 "  listen = \"127.0.0.1:44300\"; // upload_kbps = 2 in a comment\n"
		 "  cert_file = \"%s/server.crt\";\n"
		 "  key_file = \"%s/server.key\";\n"
		 "  ca_file = \"%s/ca.crt\";\n",
		 pki, pki, pki);
	return buf;
}

/* Write head() + rest to dir/name and load it. */
static struct config *load(const char *name, const char *rest)
{
	char text[4096];
	struct cfg_errors errs = { 0 };
	struct config *c = NULL;
	const char *path = tu_path(dir, name);

	snprintf(text, sizeof(text), "%s%s", head(), rest);
	tu_write(path, text);
	if (cfg_load(path, NULL, 0, &c, &errs) != CFG_OK) {
		struct sbuf l = { 0 };
		for (size_t i = 0; i < errs.n; i++) {
			sbuf_reset(&l);
			cfg_error_format(&errs.v[i], &l);
			fprintf(stderr, "load %s: %s\n", name, sbuf_str(&l));
		}
		sbuf_free(&l);
	}
	cfg_errors_free(&errs);
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	return c;
}

/* Splice and compare the result with head() + want; the result must load
 * with the new values. */
static void splice_ok(struct config *c, const struct wb_edit *ed, size_t n, const char *want)
{
	struct sbuf out = { 0 }, exp = { 0 };
	struct cfg_errors errs = { 0 };
	struct config *c2 = NULL;

	CU_ASSERT_EQUAL_FATAL(wb_splice(c, ed, n, &out, &errs), 0);
	CU_ASSERT_EQUAL(errs.n, 0);
	sbuf_printf(&exp, "%s%s", head(), want);
	CU_ASSERT_STRING_EQUAL(sbuf_str(&out), sbuf_str(&exp));
	if (strcmp(sbuf_str(&out), sbuf_str(&exp)) != 0)
		fprintf(stderr, "--- got:\n%s--- want:\n%s---\n", sbuf_str(&out), sbuf_str(&exp));
	CU_ASSERT_EQUAL(cfg_load(c->path, out.s, out.len, &c2, &errs), CFG_OK);
	for (size_t i = 0; c2 && i < n; i++) {
		struct sbuf v = { 0 };
		cfg_value_format(c2, cfg_setting_find(ed[i].key), true, &v);
		CU_ASSERT_STRING_EQUAL(sbuf_str(&v), ed[i].value);
		sbuf_free(&v);
	}
	cfg_unref(c2);
	cfg_errors_free(&errs);
	sbuf_free(&out);
	sbuf_free(&exp);
}

static void test_in_place(void)
{
	struct config *c = load("inplace.conf",
				"  upload_kbps = 10000; # the upload limit\n"
				"  download_kbps:0x2710\n"
				"};\n"
				"throttle = {\n"
				"\tenabled = FALSE;  /* off */\n"
				"};\n");
	struct wb_edit ed[] = {
		{ "tunnel.upload_kbps", "5000" },
		{ "throttle.enabled", "true" },
		{ "tunnel.download_kbps", "777" },
	};
	splice_ok(c, ed, 3,
		  "  upload_kbps = 5000; # the upload limit\n"
		  "  download_kbps:777\n"
		  "};\n"
		  "throttle = {\n"
		  "\tenabled = true;  /* off */\n"
		  "};\n");
	cfg_unref(c);
}

static void test_into_group(void)
{
	struct config *c = load("group.conf",
				"  # a } in a comment /* and { */\n"
				"  allowed_peers = [ \"peer}1\", \"{peer2\" ];\n"
				"};\n"
				"throttle = {\n"
				"\tenabled = true;\n"
				"};\n");
	/* Two new keys for tunnel (indented like its settings), one for
	 * throttle (tab-indented like enabled). */
	struct wb_edit ed[] = {
		{ "tunnel.upload_kbps", "5000" },
		{ "throttle.burst_ms", "250" },
		{ "tunnel.download_kbps", "6000" },
	};
	splice_ok(c, ed, 3,
		  "  # a } in a comment /* and { */\n"
		  "  allowed_peers = [ \"peer}1\", \"{peer2\" ];\n"
		  "  upload_kbps = 5000;\n"
		  "  download_kbps = 6000;\n"
		  "};\n"
		  "throttle = {\n"
		  "\tenabled = true;\n"
		  "\tburst_ms = 250;\n"
		  "};\n");
	cfg_unref(c);
}

static void test_one_line_group(void)
{
	struct config *c = load("oneline.conf", "};\nthrottle = { enabled = true; };\n");
	struct wb_edit ed[] = { { "throttle.burst_ms", "9" } };

	splice_ok(c, ed, 1, "};\nthrottle = { enabled = true; burst_ms = 9; };\n");
	cfg_unref(c);
}

static void test_new_group(void)
{
	/* No throttle group at all, and no newline at the end of the file. */
	struct config *c = load("newgroup.conf", "};");
	struct wb_edit ed[] = { { "throttle.enabled", "true" }, { "throttle.burst_ms", "50" } };

	splice_ok(c, ed, 2, "};\nthrottle = {\n  enabled = true;\n  burst_ms = 50;\n};\n");
	cfg_unref(c);
}

static void test_include_refused(void)
{
	const char *inc = tu_path(dir, "rates.inc");
	struct sbuf out = { 0 };
	struct cfg_errors errs = { 0 };

	tu_write(inc, "upload_kbps = 4000;\n");
	struct config *c = load("inc.conf", "  @include \"rates.inc\"\n};\n");
	CU_ASSERT_EQUAL(c->tunnel.upload_kbps, 4000);
	struct wb_edit ed[] = { { "tunnel.upload_kbps", "5000" } };
	CU_ASSERT_EQUAL(wb_splice(c, ed, 1, &out, &errs), -1);
	CU_ASSERT_EQUAL_FATAL(errs.n, 1);
	CU_ASSERT_STRING_EQUAL(errs.v[0].file, inc);
	CU_ASSERT_EQUAL(errs.v[0].line, 1);
	CU_ASSERT_STRING_EQUAL(errs.v[0].key, "tunnel.upload_kbps");
	CU_ASSERT_PTR_NOT_NULL(strstr(errs.v[0].message, "@include"));
	CU_ASSERT_EQUAL(out.len, 0);
	cfg_errors_free(&errs);
	cfg_unref(c);

	/* A group that lives in an include: a missing key is not added to a
	 * new group in the main file either. */
	tu_write(inc, "throttle = { enabled = true; };\n");
	c = load("incgroup.conf", "};\n@include \"rates.inc\"\n");
	struct wb_edit ed2[] = { { "throttle.burst_ms", "5" } };
	CU_ASSERT_EQUAL(wb_splice(c, ed2, 1, &out, &errs), -1);
	CU_ASSERT_EQUAL_FATAL(errs.n, 1);
	CU_ASSERT_PTR_NOT_NULL(strstr(errs.v[0].message, "group \"throttle\""));
	cfg_errors_free(&errs);
	sbuf_free(&out);
	cfg_unref(c);
}

static void test_set_twice(void)
{
	struct config *c = load("twice.conf", "  upload_kbps = 10;\n};\n");
	struct wb_edit ed[] = { { "tunnel.upload_kbps", "20" }, { "tunnel.upload_kbps", "30" } };
	struct sbuf out = { 0 };
	struct cfg_errors errs = { 0 };

	CU_ASSERT_EQUAL(wb_splice(c, ed, 2, &out, &errs), -1);
	CU_ASSERT_EQUAL(errs.n, 1);
	cfg_errors_free(&errs);
	sbuf_free(&out);
	cfg_unref(c);
}

static void test_check(void)
{
	struct cfg_errors errs = { 0 };
	struct config *c = load("check.conf", "  upload_kbps = 10;\n};\n");

	CU_ASSERT_EQUAL(wb_check(c, &errs), WB_OK);
	CU_ASSERT_EQUAL(errs.n, 0);
	/* An edit on disk that is not running. */
	tu_write(c->path, "# edited\n");
	CU_ASSERT_EQUAL(wb_check(c, &errs), WB_DIFFERS);
	CU_ASSERT_EQUAL_FATAL(errs.n, 1);
	CU_ASSERT_PTR_NOT_NULL(strstr(errs.v[0].message, "differs from the running version"));
	cfg_errors_free(&errs);
	/* Gone. */
	unlink(c->path);
	CU_ASSERT_EQUAL(wb_check(c, &errs), WB_DIFFERS);
	cfg_errors_free(&errs);
	cfg_unref(c);

	/* An @include'd file changed on disk. */
	const char *inc = tu_path(dir, "check.inc");
	tu_write(inc, "upload_kbps = 4000;\n");
	c = load("check2.conf", "  @include \"check.inc\"\n};\n");
	CU_ASSERT_EQUAL(wb_check(c, &errs), WB_OK);
	tu_write(inc, "upload_kbps = 4001;\n");
	CU_ASSERT_EQUAL(wb_check(c, &errs), WB_DIFFERS);
	CU_ASSERT_EQUAL_FATAL(errs.n, 1);
	CU_ASSERT_STRING_EQUAL(errs.v[0].file, inc);
	cfg_errors_free(&errs);
	cfg_unref(c);
}

static void test_check_unwritable(void)
{
	struct cfg_errors errs = { 0 };
	const char *sub = tu_path(dir, "ro");

	if (geteuid() == 0) {
		/* root writes anyway; the shell test uses a read-only mount */
		CU_PASS("skipped as root");
		return;
	}
	mkdir(sub, 0700);
	struct config *c = load("../ro/x.conf", "};\n");
	chmod(sub, 0500);
	CU_ASSERT_EQUAL(wb_check(c, &errs), WB_UNWRITABLE);
	CU_ASSERT_EQUAL(errs.n, 1);
	chmod(sub, 0700);
	cfg_errors_free(&errs);
	cfg_unref(c);
}

static int count_entries(const char *d)
{
	char cmd[600];
	snprintf(cmd, sizeof(cmd), "ls -A '%s' | wc -l", d);
	FILE *p = popen(cmd, "r");
	int n = -1;
	if (p) {
		if (fscanf(p, "%d", &n) != 1)
			n = -1;
		pclose(p);
	}
	return n;
}

static void test_write(void)
{
	const char *wd = tu_tmpdir();
	const char *real = tu_path(wd, "real.conf"), *link = tu_path(wd, "link.conf");
	struct sbuf why = { 0 };
	struct stat st;
	unsigned char *data = NULL;
	size_t len = 0;

	tu_write(real, "old\n");
	chmod(real, 0640);
	CU_ASSERT_EQUAL_FATAL(symlink("real.conf", link), 0);
	int before = count_entries(wd);
	CU_ASSERT_EQUAL(wb_write(link, "new bytes\n", 10, &why), 0);
	CU_ASSERT_EQUAL(why.len, 0);
	/* The link is still a link; the target has the bytes and its mode. */
	CU_ASSERT_EQUAL(lstat(link, &st), 0);
	CU_ASSERT(S_ISLNK(st.st_mode));
	CU_ASSERT_EQUAL(stat(real, &st), 0);
	CU_ASSERT_EQUAL(st.st_mode & 07777, 0640);
	CU_ASSERT_EQUAL(st.st_uid, geteuid());
	CU_ASSERT_EQUAL(read_file(real, &data, &len), 0);
	CU_ASSERT_EQUAL(len, 10);
	CU_ASSERT(data && memcmp(data, "new bytes\n", 10) == 0);
	free(data);
	CU_ASSERT_EQUAL(count_entries(wd), before); /* no temp file left */

	/* A target that does not exist: an error, nothing created. */
	CU_ASSERT(wb_write(tu_path(wd, "missing.conf"), "x", 1, &why) < 0);
	CU_ASSERT(why.len > 0);
	CU_ASSERT_EQUAL(count_entries(wd), before);
	sbuf_free(&why);
}

int main(void)
{
	if (CU_initialize_registry() != CUE_SUCCESS)
		return 2;
	dir = tu_tmpdir();
	CU_pSuite s = CU_add_suite("writeback", NULL, NULL);
	CU_add_test(s, "splice in place, comments and layout kept", test_in_place);
	CU_add_test(s, "missing keys added to their group", test_into_group);
	CU_add_test(s, "a group on one line", test_one_line_group);
	CU_add_test(s, "a missing group appended", test_new_group);
	CU_add_test(s, "values in an @include are refused", test_include_refused);
	CU_add_test(s, "the same key twice is refused", test_set_twice);
	CU_add_test(s, "disk differs from the running version", test_check);
	CU_add_test(s, "unwritable directory (non-root)", test_check_unwritable);
	CU_add_test(s, "atomic write keeps link, owner and mode", test_write);
	return tu_run();
}
