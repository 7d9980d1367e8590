/* SPDX-License-Identifier: MIT */
/*
 * unit_writeback.c - SNMP write-back: splicing values into the running
 * file's bytes (in place, into a group, into a new group; comments, order
 * and layout kept; @include refused), the can-it-be-written check, and
 * the atomic replacement (symlink target, owner and mode kept, no temp
 * file left behind).
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
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
				"  allowed_peers = [ \"cn:peer}1\", \"cn:{peer2\" ];\n"
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
		  "  allowed_peers = [ \"cn:peer}1\", \"cn:{peer2\" ];\n"
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

/* libconfig reads on after an @include directive: a closing brace on the
 * directive's line closes the group, and the splice must see it so. */
static void test_include_on_brace_line(void)
{
	tu_write(tu_path(dir, "brace.inc"), "download_kbps = 3000;\n");
	struct config *c = load("brace.conf",
				"  @include \"brace.inc\" };\n"
				"throttle = {\n"
				"  enabled = false;\n"
				"};\n");
	CU_ASSERT_EQUAL(c->tunnel.download_kbps, 3000);
	/* In place in the group after the directive's line... */
	struct wb_edit e1[] = { { "throttle.enabled", "true" } };
	splice_ok(c, e1, 1, "  @include \"brace.inc\" };\nthrottle = {\n  enabled = true;\n};\n");
	/* ...added to it, not to a second throttle group... */
	tu_write(c->path, (const char *)c->text);
	struct wb_edit e2[] = { { "throttle.burst_ms", "250" } };
	splice_ok(c, e2, 1,
		  "  @include \"brace.inc\" };\nthrottle = {\n  enabled = false;\n  burst_ms = 250;\n};\n");
	/* ...and a tunnel key missing from the main file goes before the
	 * brace that closes tunnel, on the directive's line. */
	tu_write(c->path, (const char *)c->text);
	struct wb_edit e3[] = { { "tunnel.upload_kbps", "5000" } };
	splice_ok(c, e3, 1,
		  "  @include \"brace.inc\" upload_kbps = 5000; };\nthrottle = {\n  enabled = false;\n};\n");
	cfg_unref(c);
}

/* The splice's last line of defence: the bytes it built are parsed again,
 * and a result that does not say exactly what was asked is refused.  An
 * included file that closes the group it is included in and opens another
 * one fools any reading of the main file alone. */
static void test_splice_verified(void)
{
	struct sbuf out = { 0 };
	struct cfg_errors errs = { 0 };

	tu_write(tu_path(dir, "switch.inc"), "};\nthrottle = {\n");
	struct config *c = load("switch.conf", "  @include \"switch.inc\"\n  burst_ms = 100;\n};\n");
	CU_ASSERT_EQUAL(c->throttle.burst_ms, 100);
	/* The main file alone says "tunnel": the new key would land in
	 * throttle, an unknown setting there. */
	struct wb_edit ed[] = { { "tunnel.upload_kbps", "5000" } };
	CU_ASSERT_EQUAL(wb_splice(c, ed, 1, &out, &errs), -1);
	CU_ASSERT_EQUAL(out.len, 0);
	CU_ASSERT(errs.n == 1 && strstr(errs.v[0].message, "would break the file") &&
		  strstr(errs.v[0].message, "throttle.upload_kbps: unknown setting"));
	cfg_errors_free(&errs);
	/* A new throttle group at the end would be a second one. */
	struct wb_edit ed2[] = { { "throttle.enabled", "true" } };
	CU_ASSERT_EQUAL(wb_splice(c, ed2, 1, &out, &errs), -1);
	CU_ASSERT(errs.n == 1 && strstr(errs.v[0].message, "would break the file"));
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

	CU_ASSERT_EQUAL(wb_check(c, NULL, &errs), WB_OK);
	CU_ASSERT_EQUAL(errs.n, 0);
	/* An edit on disk that is not running. */
	tu_write(c->path, "# edited\n");
	CU_ASSERT_EQUAL(wb_check(c, NULL, &errs), WB_DIFFERS);
	CU_ASSERT_EQUAL_FATAL(errs.n, 1);
	CU_ASSERT_PTR_NOT_NULL(strstr(errs.v[0].message, "differs from the running version"));
	cfg_errors_free(&errs);
	/* Gone. */
	unlink(c->path);
	CU_ASSERT_EQUAL(wb_check(c, NULL, &errs), WB_DIFFERS);
	cfg_errors_free(&errs);
	cfg_unref(c);

	/* An @include'd file changed on disk. */
	const char *inc = tu_path(dir, "check.inc");
	tu_write(inc, "upload_kbps = 4000;\n");
	c = load("check2.conf", "  @include \"check.inc\"\n};\n");
	CU_ASSERT_EQUAL(wb_check(c, NULL, &errs), WB_OK);
	tu_write(inc, "upload_kbps = 4001;\n");
	CU_ASSERT_EQUAL(wb_check(c, NULL, &errs), WB_DIFFERS);
	CU_ASSERT_EQUAL_FATAL(errs.n, 1);
	CU_ASSERT_STRING_EQUAL(errs.v[0].file, inc);
	cfg_errors_free(&errs);
	cfg_unref(c);
}

/* Set or clear the immutable flag of path (root: chattr +i). */
static int set_immutable(const char *path, bool on)
{
	int fd = open(path, O_RDONLY | O_NONBLOCK), flags = 0, r = -1;

	if (fd < 0)
		return -1;
	if (ioctl(fd, FS_IOC_GETFLAGS, &flags) == 0) {
		flags = on ? flags | FS_IMMUTABLE_FL : flags & ~FS_IMMUTABLE_FL;
		r = ioctl(fd, FS_IOC_SETFLAGS, &flags);
	}
	close(fd);
	return r;
}

/* A directory nobody may write to: by its mode for a user, by the
 * immutable flag for root (a mode does not stop root). */
static void test_check_unwritable(void)
{
	struct cfg_errors errs = { 0 };
	const char *sub = tu_path(dir, "ro");

	mkdir(sub, 0700);
	struct config *c = load("ro/x.conf", "};\n");
	CU_ASSERT_EQUAL(wb_check(c, NULL, &errs), WB_OK);
	if (geteuid() == 0) {
		CU_ASSERT_EQUAL_FATAL(set_immutable(sub, true), 0);
	} else {
		chmod(sub, 0500);
	}
	CU_ASSERT_EQUAL(wb_check(c, NULL, &errs), WB_UNWRITABLE);
	CU_ASSERT_EQUAL(errs.n, 1);
	if (geteuid() == 0)
		set_immutable(sub, false);
	else
		chmod(sub, 0700);
	cfg_errors_free(&errs);
	cfg_unref(c);
}

/* Write-back never overwrites an edit made since the file was checked,
 * and an UNDO's restore never overwrites one made since the SET wrote. */
static void test_write_edited_since(void)
{
	const char *wd = tu_tmpdir(), *f = tu_path(wd, "e.conf");
	struct sbuf why = { 0 };
	struct wb_stamp checked, wrote;
	struct stat st;
	struct timespec later[2] = { { 0, UTIME_OMIT }, { 0, 0 } };

	tu_write(f, "v1\n");
	CU_ASSERT_EQUAL_FATAL(stat(f, &st), 0);
	checked = (struct wb_stamp){ .valid = true, .dev = st.st_dev, .ino = st.st_ino, .size = st.st_size,
				     .mtime = st.st_mtim };
	/* An editor saves in place, same size, between check and write. */
	tu_write(f, "v2\n");
	later[1].tv_sec = st.st_mtim.tv_sec + 1;
	utimensat(AT_FDCWD, f, later, 0);
	CU_ASSERT_EQUAL(wb_write(f, "SNMP\n", 5, &checked, &wrote, &why), -ESTALE);
	CU_ASSERT_PTR_NOT_NULL(strstr(sbuf_str(&why), "changed on disk since it was checked"));
	char *t = tu_read(f);
	CU_ASSERT_STRING_EQUAL(t, "v2\n");
	free(t);
	sbuf_reset(&why);

	/* Unchanged since the check: written, and the new stamp returned. */
	CU_ASSERT_EQUAL_FATAL(stat(f, &st), 0);
	checked = (struct wb_stamp){ .valid = true, .dev = st.st_dev, .ino = st.st_ino, .size = st.st_size,
				     .mtime = st.st_mtim };
	CU_ASSERT_EQUAL(wb_write(f, "SNMP\n", 5, &checked, &wrote, &why), 0);
	CU_ASSERT(wrote.valid && wrote.size == 5);
	/* An edit after the write: the restore (expecting "wrote") refuses. */
	tu_write(f, "edit after the SET\n");
	CU_ASSERT_EQUAL(wb_write(f, "v2\n", 3, &wrote, NULL, &why), -ESTALE);
	t = tu_read(f);
	CU_ASSERT_STRING_EQUAL(t, "edit after the SET\n");
	free(t);
	sbuf_free(&why);
}

/* Temporary files a crash left next to the file are removed; others'
 * files (another configuration's, a different name) are not. */
static void test_clean_stale(void)
{
	const char *wd = tu_tmpdir(), *f = tu_path(wd, "s.conf");
	struct stat st;

	tu_write(f, "x\n");
	tu_write(tu_path(wd, ".s.conf.sssonector-wb.Ab12Cd"), "stale 1");
	tu_write(tu_path(wd, ".s.conf.sssonector-wb.zzzzzz"), "stale 2");
	tu_write(tu_path(wd, ".other.conf.sssonector-wb.Ab12Cd"), "not ours");
	tu_write(tu_path(wd, ".s.conf.sssonector-wb.toolong1"), "not a temp name");
	CU_ASSERT_EQUAL(wb_clean_stale(f), 2);
	CU_ASSERT_NOT_EQUAL(stat(tu_path(wd, ".s.conf.sssonector-wb.Ab12Cd"), &st), 0);
	CU_ASSERT_EQUAL(stat(tu_path(wd, ".other.conf.sssonector-wb.Ab12Cd"), &st), 0);
	CU_ASSERT_EQUAL(stat(tu_path(wd, ".s.conf.sssonector-wb.toolong1"), &st), 0);
	CU_ASSERT_EQUAL(stat(f, &st), 0);
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
	CU_ASSERT_EQUAL(wb_write(link, "new bytes\n", 10, NULL, NULL, &why), 0);
	CU_ASSERT_EQUAL(why.len, 0);
	/* The link is still a link; the target has the bytes and its mode. */
	CU_ASSERT_EQUAL(lstat(link, &st), 0);
	CU_ASSERT(S_ISLNK(st.st_mode));
	CU_ASSERT_EQUAL(stat(real, &st), 0);
	CU_ASSERT_EQUAL(st.st_mode & 07777, 0640);
	CU_ASSERT_EQUAL(st.st_uid, geteuid());
	CU_ASSERT_EQUAL(read_file(real, CFG_PEM_MAX, &data, &len), 0);
	CU_ASSERT_EQUAL(len, 10);
	CU_ASSERT(data && memcmp(data, "new bytes\n", 10) == 0);
	free(data);
	CU_ASSERT_EQUAL(count_entries(wd), before); /* no temp file left */

	/* A target that does not exist: an error, nothing created. */
	CU_ASSERT(wb_write(tu_path(wd, "missing.conf"), "x", 1, NULL, NULL, &why) < 0);
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
	CU_add_test(s, "@include on a closing brace's line", test_include_on_brace_line);
	CU_add_test(s, "a splice that misses is refused", test_splice_verified);
	CU_add_test(s, "no write over an edit made since", test_write_edited_since);
	CU_add_test(s, "stale temporary files removed", test_clean_stale);
	CU_add_test(s, "disk differs from the running version", test_check);
	CU_add_test(s, "unwritable directory", test_check_unwritable);
	CU_add_test(s, "atomic write keeps link, owner and mode", test_write);
	return tu_run();
}
