/* SPDX-License-Identifier: MIT */
/*
 * unit_watch.c - the file-watch trigger: the debounce with an injected
 * clock, and, with the real engine and inotify, exactly one reload per save
 * for every editor style (in place, temp + rename, delete and recreate, the
 * ConfigMap ..data swap, chunked writes, certificate rotation), a deleted
 * file, a broken save and its fix, a touch, the daemon's own write-back and
 * reload.watch=false.
 *
 * Every wait is the watcher's own poll loop with a generous bound; a quiet
 * period that proves nothing more happens is run through the same loop.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <CUnit/Basic.h>

#include "config.h"
#include "log.h"
#include "reload.h"
#include "testutil.h"
#include "util.h"
#include "watch.h"

#define BOUND_MS 5000
#define DEBOUNCE_MS 50

/* ---- the debounce, with an injected clock ----------------------------- */

static void test_debounce_arming(void)
{
	struct debounce d = { 0 };

	CU_ASSERT_FALSE(debounce_due(&d, 0));
	CU_ASSERT_EQUAL(debounce_timeout(&d, 0), -1);
	debounce_event(&d, 1000, 100, true);
	CU_ASSERT_TRUE(d.armed);
	CU_ASSERT_FALSE(debounce_due(&d, 1099));
	CU_ASSERT_EQUAL(debounce_timeout(&d, 1000), 100);
	CU_ASSERT_EQUAL(debounce_timeout(&d, 1060), 40);
	CU_ASSERT_TRUE(debounce_due(&d, 1100));
	CU_ASSERT_EQUAL(debounce_timeout(&d, 1100), 0);
	CU_ASSERT_EQUAL(debounce_timeout(&d, 5000), 0);
	debounce_clear(&d);
	CU_ASSERT_FALSE(debounce_due(&d, 5000));
	CU_ASSERT_EQUAL(debounce_timeout(&d, 5000), -1);
}

static void test_debounce_quiet_period(void)
{
	struct debounce d = { 0 };

	debounce_event(&d, 0, 100, true);
	/* A non-arming event while armed (IN_MODIFY) restarts the quiet period. */
	debounce_event(&d, 80, 100, false);
	CU_ASSERT_FALSE(debounce_due(&d, 100));
	CU_ASSERT_EQUAL(debounce_timeout(&d, 100), 80);
	CU_ASSERT_FALSE(debounce_due(&d, 179));
	CU_ASSERT_TRUE(debounce_due(&d, 180));
	/* So does an arming one. */
	debounce_event(&d, 150, 100, true);
	CU_ASSERT_FALSE(debounce_due(&d, 249));
	CU_ASSERT_TRUE(debounce_due(&d, 250));
}

static void test_debounce_idle(void)
{
	struct debounce d = { 0 };

	/* Non-arming events while idle do nothing (a writer still writing). */
	debounce_event(&d, 0, 100, false);
	debounce_event(&d, 50, 100, false);
	CU_ASSERT_FALSE(d.armed);
	CU_ASSERT_FALSE(debounce_due(&d, 1000));
	CU_ASSERT_EQUAL(debounce_timeout(&d, 1000), -1);
}

static void test_debounce_zero(void)
{
	struct debounce d = { 0 };

	debounce_event(&d, 500, 0, true);
	CU_ASSERT_TRUE(debounce_due(&d, 500));
	CU_ASSERT_EQUAL(debounce_timeout(&d, 500), 0);
}

/*
 * A writer that truncates, then writes in chunks 50 ms apart, closing each
 * time (every close is an arming IN_CLOSE_WRITE) with IN_MODIFYs between,
 * observed by a loop ticking every millisecond: exactly one due, debounce
 * after the last event.
 */
static void test_debounce_chunked(void)
{
	struct debounce d = { 0 };
	const unsigned deb = 300;
	const struct {
		uint64_t t;
		bool arming;
	} ev[] = {
		{ 1000, false }, /* O_TRUNC: IN_MODIFY while idle */
		{ 1001, false }, { 1002, true },  /* write, close */
		{ 1052, false }, { 1053, true },
		{ 1103, false }, { 1104, true },
		{ 1154, false }, { 1155, false }, { 1205, true }, /* two writes, one close */
	};
	size_t next = 0;
	int dues = 0;
	uint64_t due_at = 0;

	for (uint64_t t = 0; t < 5000; t++) {
		while (next < sizeof(ev) / sizeof(ev[0]) && ev[next].t == t) {
			debounce_event(&d, t, deb, ev[next].arming);
			next++;
		}
		if (debounce_due(&d, t)) {
			dues++;
			due_at = t;
			debounce_clear(&d);
		}
	}
	CU_ASSERT_EQUAL(dues, 1);
	CU_ASSERT_EQUAL(due_at, 1205 + deb);
}

/* ---- a watcher on a real engine -------------------------------------- */

struct fx {
	const char *dir;
	char pki[1024];
	char path[1024];
	struct engine *e;
	struct watch *w;
	uint32_t version;  /* expected running version */
	uint32_t attempts; /* expected attempt counter */
};

static void copy_file(const char *from, const char *to, mode_t mode)
{
	unsigned char *data;
	size_t len;
	FILE *f;

	if (read_file(from, CFG_PEM_MAX, &data, &len) < 0 || !(f = fopen(to, "w")) ||
	    fwrite(data, 1, len, f) != len || fclose(f) != 0) {
		perror(to);
		exit(99);
	}
	free(data);
	chmod(to, mode);
}

/* A valid server configuration using f's private PKI; burst_ms is the hot
 * key each save changes.  Returns a malloc'd string. */
static char *conf_text(const struct fx *f, int burst_ms, const char *extra)
{
	struct sbuf b = { 0 };

	sbuf_printf(&b,
		    "mode = \"server\";\n"
		    "tunnel = {\n"
		    "  listen = \"127.0.0.1:44300\";\n"
		    "  cert_file = \"%s/server.crt\";\n"
		    "  key_file = \"%s/server.key\";\n"
		    "  ca_file = \"%s/ca.crt\";\n"
		    "};\n"
		    "forward = { target = \"127.0.0.1:5201\"; };\n"
		    "throttle = { burst_ms = %d; };\n"
		    "%s\n",
		    f->pki, f->pki, f->pki, burst_ms,
		    extra ? extra : "reload = { debounce_ms = 50; };");
	return b.s;
}

/* Write text to path in place (open with O_TRUNC, write, close). */
static void write_inplace(const char *path, const char *text)
{
	tu_write(path, text);
}

/* Write text to path.tmp and rename it over path (sed -i, most editors). */
static void write_rename(const char *path, const char *text)
{
	char tmp[600];

	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	tu_write(tmp, text);
	if (rename(tmp, path) != 0) {
		perror(tmp);
		exit(99);
	}
}

static void fx_stats(struct fx *f, struct reload_stats *st)
{
	engine_stats(f->e, st);
}

/*
 * Run the watcher's loop (poll on its descriptor with its own timeout, then
 * handle and tick) until cond(f) holds or bound_ms pass.  With cond NULL it
 * runs for bound_ms: a quiet period.  Returns whether cond held.
 */
static bool pump(struct fx *f, int bound_ms, bool (*cond)(struct fx *))
{
	uint64_t end = now_ms() + (uint64_t)bound_ms;

	for (;;) {
		if (cond && cond(f))
			return true;
		uint64_t now = now_ms();
		if (now >= end)
			return false;
		int t = watch_timeout(f->w, now);
		if (t < 0 || (uint64_t)t > end - now)
			t = (int)(end - now);
		struct pollfd p = { .fd = watch_fd(f->w), .events = POLLIN };
		if (poll(&p, 1, t) < 0 && errno != EINTR) {
			perror("poll");
			exit(99);
		}
		if (p.revents & POLLIN)
			watch_handle(f->w, now_ms());
		watch_tick(f->w, now_ms());
	}
}

/* What touch(1) does: open for writing, set the times, close. */
static void touch(const char *path)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);

	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_EQUAL(futimens(fd, NULL), 0);
	close(fd);
}

static bool next_version(struct fx *f)
{
	return engine_version(f->e) > f->version;
}

static bool state_missing(struct fx *f)
{
	return watch_state(f->w) == WATCH_FILE_MISSING;
}

static bool one_more_attempt(struct fx *f)
{
	struct reload_stats st;

	fx_stats(f, &st);
	return st.attempts > f->attempts;
}

/* More than one attempt since f->attempts: what a quiet period after the
 * one expected attempt must never see. */
static bool a_second_attempt(struct fx *f)
{
	struct reload_stats st;

	fx_stats(f, &st);
	return st.attempts > f->attempts + 1;
}

static uint32_t seen_events;
static bool saw_events(struct fx *f)
{
	return watch_events(f->w) > seen_events;
}

/* Start an engine with the watcher on f->path (already written). */
static void fx_engine(struct fx *f)
{
	struct reload_stats st;

	f->e = engine_new(f->path);
	f->w = watch_new(f->e);
	engine_register(f->e, watch_component(f->w));
	CU_ASSERT_EQUAL_FATAL(engine_reload(f->e, RELOAD_SRC_STARTUP, NULL, NULL), RELOAD_APPLIED);
	CU_ASSERT_EQUAL(engine_version(f->e), 1);
	CU_ASSERT_EQUAL(watch_state(f->w), WATCH_WATCHING);
	CU_ASSERT(watch_fd(f->w) >= 0);
	f->version = 1;
	fx_stats(f, &st);
	f->attempts = st.attempts;
	/* Let the start-up comparison run: it must find nothing to do. */
	CU_ASSERT_FALSE(pump(f, 3 * DEBOUNCE_MS, next_version));
}

/* A temp dir with a private copy of the PKI, the configuration written in
 * it with conf_text(burst_ms), and the engine started. */
static void fx_start(struct fx *f, int burst_ms)
{
	const char *pki = tu_pki();

	memset(f, 0, sizeof(*f));
	f->dir = tu_tmpdir();
	snprintf(f->pki, sizeof(f->pki), "%s/pki", f->dir);
	mkdir(f->pki, 0700);
	copy_file(tu_path(pki, "server.crt"), tu_path(f->pki, "server.crt"), 0644);
	copy_file(tu_path(pki, "server.key"), tu_path(f->pki, "server.key"), 0600);
	copy_file(tu_path(pki, "ca.crt"), tu_path(f->pki, "ca.crt"), 0644);
	copy_file(tu_path(pki, "ca.key"), tu_path(f->pki, "ca.key"), 0600);
	snprintf(f->path, sizeof(f->path), "%s/sssonector.conf", f->dir);
	char *text = conf_text(f, burst_ms, NULL);
	write_inplace(f->path, text);
	free(text);
	fx_engine(f);
}

static void fx_stop(struct fx *f)
{
	engine_free(f->e);
	watch_free(f->w);
}

/* After a save: exactly one more version (and one attempt), and nothing
 * more over three debounce periods of quiet. */
static void expect_one_reload(struct fx *f)
{
	struct reload_stats st;

	CU_ASSERT_TRUE(pump(f, BOUND_MS, next_version));
	CU_ASSERT_FALSE(pump(f, 3 * DEBOUNCE_MS, a_second_attempt));
	CU_ASSERT_EQUAL(engine_version(f->e), f->version + 1);
	fx_stats(f, &st);
	CU_ASSERT_EQUAL(st.attempts, f->attempts + 1);
	CU_ASSERT_EQUAL(st.last_source, RELOAD_SRC_FILE);
	f->version = engine_version(f->e);
	f->attempts = st.attempts;
}

/* After an event that changes no content: events seen, no attempt. */
static void expect_no_attempt(struct fx *f)
{
	struct reload_stats st;

	CU_ASSERT_TRUE(pump(f, BOUND_MS, saw_events));
	CU_ASSERT_FALSE(pump(f, 3 * DEBOUNCE_MS, one_more_attempt));
	CU_ASSERT_EQUAL(engine_version(f->e), f->version);
	fx_stats(f, &st);
	CU_ASSERT_EQUAL(st.attempts, f->attempts);
}

static int running_burst(struct fx *f)
{
	struct config *c = engine_current(f->e);
	int v = c->throttle.burst_ms;

	cfg_unref(c);
	return v;
}

static void save_and_expect(struct fx *f, void (*save)(const char *, const char *), int burst)
{
	char *text = conf_text(f, burst, NULL);

	save(f->path, text);
	free(text);
	expect_one_reload(f);
	CU_ASSERT_EQUAL(running_burst(f), burst);
}

static void test_inplace(void)
{
	struct fx f;

	fx_start(&f, 100);
	save_and_expect(&f, write_inplace, 101);
	save_and_expect(&f, write_inplace, 102);
	fx_stop(&f);
}

static void test_rename(void)
{
	struct fx f;

	fx_start(&f, 100);
	save_and_expect(&f, write_rename, 103);
	save_and_expect(&f, write_rename, 104);
	fx_stop(&f);
}

static void delete_recreate(const char *path, const char *text)
{
	unlink(path);
	tu_write(path, text);
}

static void test_delete_recreate(void)
{
	struct fx f;

	fx_start(&f, 100);
	save_and_expect(&f, delete_recreate, 105);
	fx_stop(&f);
}

/* ---- a Kubernetes ConfigMap volume ------------------------------------ */

/* What the kubelet does: a new timestamped directory with the files, a
 * symlink ..data_tmp to it renamed over ..data, the old directory removed. */
static void cm_publish(struct fx *f, const char *dir, int gen, const char *text, bool slow)
{
	char d[600], file[700], tmp[600], data[600], old[600];

	snprintf(d, sizeof(d), "%s/..2026_11_27_%02d", dir, gen);
	snprintf(file, sizeof(file), "%s/sssonector.conf", d);
	snprintf(tmp, sizeof(tmp), "%s/..data_tmp", dir);
	snprintf(data, sizeof(data), "%s/..data", dir);
	if (mkdir(d, 0700) != 0)
		goto fail;
	tu_write(file, text);
	snprintf(old, sizeof(old), "..2026_11_27_%02d", gen);
	if (slow) /* let the debounce fire between the steps */
		pump(f, 3 * DEBOUNCE_MS, NULL);
	if (symlink(old, tmp) != 0)
		goto fail;
	if (slow)
		pump(f, 3 * DEBOUNCE_MS, NULL);
	if (rename(tmp, data) != 0)
		goto fail;
	/* The swap alone is the change: seen before the old directory goes. */
	if (slow)
		CU_ASSERT_TRUE(pump(f, BOUND_MS, next_version));
	if (gen > 1) {
		snprintf(old, sizeof(old), "%s/..2026_11_27_%02d/sssonector.conf", dir, gen - 1);
		unlink(old);
		snprintf(old, sizeof(old), "%s/..2026_11_27_%02d", dir, gen - 1);
		if (rmdir(old) != 0)
			goto fail;
	}
	return;
fail:
	perror(d);
	exit(99);
}

static void test_configmap(void)
{
	struct fx f;
	const char *pki = tu_pki();

	memset(&f, 0, sizeof(f));
	f.dir = tu_tmpdir();
	/* The PKI as in fx_start, the config as a ConfigMap projection. */
	snprintf(f.pki, sizeof(f.pki), "%s/pki", f.dir);
	mkdir(f.pki, 0700);
	copy_file(tu_path(pki, "server.crt"), tu_path(f.pki, "server.crt"), 0644);
	copy_file(tu_path(pki, "server.key"), tu_path(f.pki, "server.key"), 0600);
	copy_file(tu_path(pki, "ca.crt"), tu_path(f.pki, "ca.crt"), 0644);
	char cm[600];
	snprintf(cm, sizeof(cm), "%s/cm", f.dir);
	mkdir(cm, 0700);
	char *text = conf_text(&f, 100, NULL);
	cm_publish(&f, cm, 1, text, false);
	free(text);
	snprintf(f.path, sizeof(f.path), "%s/sssonector.conf", cm);
	CU_ASSERT_EQUAL_FATAL(symlink("..data/sssonector.conf", f.path), 0);
	fx_engine(&f);

	for (int gen = 2; gen <= 5; gen++) {
		text = conf_text(&f, 100 + gen, NULL);
		cm_publish(&f, cm, gen, text, gen % 2);
		free(text);
		expect_one_reload(&f);
		CU_ASSERT_EQUAL(running_burst(&f), 100 + gen);
		CU_ASSERT_EQUAL(watch_state(f.w), WATCH_WATCHING);
	}
	fx_stop(&f);
}

/* A symlinked file retargeted (ln -sfn): the link's directory is watched. */
static void test_symlink_retarget(void)
{
	struct fx f;
	char real[700], target[800], tmp[1100];

	fx_start(&f, 100);
	snprintf(real, sizeof(real), "%s/real", f.dir);
	mkdir(real, 0700);
	snprintf(target, sizeof(target), "%s/a.conf", real);
	CU_ASSERT_EQUAL(rename(f.path, target), 0);
	CU_ASSERT_EQUAL(symlink(target, f.path), 0);
	/* Same bytes through a link: nothing to do. */
	CU_ASSERT_FALSE(pump(&f, 3 * DEBOUNCE_MS, one_more_attempt));

	snprintf(target, sizeof(target), "%s/b.conf", real);
	char *text = conf_text(&f, 123, NULL);
	tu_write(target, text);
	free(text);
	snprintf(tmp, sizeof(tmp), "%s.lnk", f.path);
	CU_ASSERT_EQUAL(symlink(target, tmp), 0);
	CU_ASSERT_EQUAL(rename(tmp, f.path), 0);
	expect_one_reload(&f);
	CU_ASSERT_EQUAL(running_burst(&f), 123);
	/* Now an in-place write to the new target is seen (its directory). */
	text = conf_text(&f, 124, NULL);
	tu_write(target, text);
	free(text);
	expect_one_reload(&f);
	CU_ASSERT_EQUAL(running_burst(&f), 124);
	fx_stop(&f);
}

/* ---- truncate, then write in chunks through one descriptor ------------- */

static void test_chunked(void)
{
	struct fx f;
	struct reload_stats st;
	const char *slow = "reload = { debounce_ms = 300; };";

	fx_start(&f, 100);
	/* Switch to a 300 ms debounce first (one reload of its own). */
	char *text = conf_text(&f, 100, slow);
	write_inplace(f.path, text);
	free(text);
	expect_one_reload(&f);

	text = conf_text(&f, 106, slow);
	size_t len = strlen(text), third = len / 3;
	int fd = open(f.path, O_WRONLY | O_TRUNC | O_CLOEXEC);
	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_EQUAL(write(fd, text, third), (ssize_t)third);
	pump(&f, 50, NULL);
	CU_ASSERT_EQUAL(write(fd, text + third, third), (ssize_t)third);
	pump(&f, 50, NULL);
	CU_ASSERT_EQUAL(write(fd, text + 2 * third, len - 2 * third), (ssize_t)(len - 2 * third));
	CU_ASSERT_EQUAL(engine_version(f.e), f.version); /* nothing while writing */
	close(fd);
	free(text);
	CU_ASSERT_TRUE(pump(&f, BOUND_MS, next_version));
	CU_ASSERT_FALSE(pump(&f, 3 * 300, a_second_attempt));
	CU_ASSERT_EQUAL(engine_version(f.e), f.version + 1);
	CU_ASSERT_EQUAL(running_burst(&f), 106);
	fx_stats(&f, &st);
	CU_ASSERT_EQUAL(st.attempts, f.attempts + 1);
	CU_ASSERT_EQUAL(st.parse_errors, 0);
	fx_stop(&f);
}

/* ---- certificate rotation ------------------------------------------ */

/* A new certificate for the same key and name, signed by the same CA,
 * written over the old one in place. */
static void test_cert_rotation(void)
{
	struct fx f;
	char cmd[4096];
	unsigned char *data;
	size_t len;

	fx_start(&f, 100);
	snprintf(cmd, sizeof(cmd),
		 "cd '%s' && printf '%%s\\n' 'basicConstraints=CA:FALSE' "
		 "'keyUsage=critical,digitalSignature' 'extendedKeyUsage=serverAuth' "
		 "'subjectAltName=DNS:sssonector-server,DNS:localhost,IP:127.0.0.1,IP:::1' >r.ext && "
		 "openssl req -new -key server.key -subj /CN=sssonector-server -out r.csr && "
		 "openssl x509 -req -in r.csr -CA ca.crt -CAkey ca.key -set_serial 0x$(openssl rand -hex 8) "
		 "-days 2 -sha256 -extfile r.ext -out new.crt 2>/dev/null",
		 f.pki);
	CU_ASSERT_EQUAL_FATAL(system(cmd), 0);
	CU_ASSERT_EQUAL_FATAL(read_file(tu_path(f.pki, "new.crt"), CFG_PEM_MAX, &data, &len), 0);
	write_inplace(tu_path(f.pki, "server.crt"), (const char *)data);
	chmod(tu_path(f.pki, "server.crt"), 0644);
	free(data);
	expect_one_reload(&f);
	struct reload_history *h;
	size_t n = engine_history(f.e, &h);
	CU_ASSERT_FATAL(n >= 1);
	CU_ASSERT_PTR_NOT_NULL(strstr(h[0].changed, "tunnel.cert_file"));
	engine_history_free(h, n);
	fx_stop(&f);
}

/* ---- deleted, then back ---------------------------------------------- */

static void test_missing_then_back(void)
{
	struct fx f;
	struct reload_stats st;

	fx_start(&f, 100);
	CU_ASSERT_EQUAL(unlink(f.path), 0);
	CU_ASSERT_TRUE(pump(&f, BOUND_MS, state_missing));
	CU_ASSERT_FALSE(pump(&f, 3 * DEBOUNCE_MS, one_more_attempt));
	CU_ASSERT_EQUAL(watch_state(f.w), WATCH_FILE_MISSING);
	CU_ASSERT_EQUAL(engine_version(f.e), 1);
	fx_stats(&f, &st);
	CU_ASSERT_EQUAL(st.attempts, f.attempts);

	char *text = conf_text(&f, 107, NULL);
	write_inplace(f.path, text);
	free(text);
	expect_one_reload(&f);
	CU_ASSERT_EQUAL(watch_state(f.w), WATCH_WATCHING);
	CU_ASSERT_EQUAL(running_burst(&f), 107);
	fx_stop(&f);
}

/* ---- a broken save, then its fix ------------------------------------- */

static bool one_parse_error(struct fx *f)
{
	struct reload_stats st;

	fx_stats(f, &st);
	return st.parse_errors > 0;
}

static void test_broken_then_fix(void)
{
	struct fx f;
	struct reload_stats st;

	fx_start(&f, 100);
	write_inplace(f.path, "mode = \"server\";\ntunnel = {\n  listen = \n");
	CU_ASSERT_TRUE(pump(&f, BOUND_MS, one_parse_error));
	/* Reported once, after the stability re-read; not again while quiet,
	 * nor on a touch. */
	CU_ASSERT_FALSE(pump(&f, 3 * DEBOUNCE_MS, a_second_attempt));
	seen_events = watch_events(f.w);
	CU_ASSERT_EQUAL(utimensat(AT_FDCWD, f.path, NULL, 0), 0);
	close(open(f.path, O_WRONLY | O_CLOEXEC));
	CU_ASSERT_TRUE(pump(&f, BOUND_MS, saw_events));
	CU_ASSERT_FALSE(pump(&f, 3 * DEBOUNCE_MS, a_second_attempt));
	fx_stats(&f, &st);
	CU_ASSERT_EQUAL(st.parse_errors, 1);
	CU_ASSERT_EQUAL(st.attempts, f.attempts + 1);
	CU_ASSERT_EQUAL(engine_version(f.e), 1);
	f.attempts = st.attempts;

	char *text = conf_text(&f, 108, NULL);
	write_inplace(f.path, text);
	free(text);
	expect_one_reload(&f);
	CU_ASSERT_EQUAL(running_burst(&f), 108);
	fx_stop(&f);
}

/* ---- events that change no content ----------------------------------- */

static void test_touch(void)
{
	struct fx f;

	fx_start(&f, 100);
	seen_events = watch_events(f.w);
	touch(f.path);
	expect_no_attempt(&f);
	uint32_t per_touch = watch_events(f.w) - seen_events;
	/* An unrelated file in the same directory: no attempt, and not
	 * counted (sssWatchEvents counts the watched files' events); the
	 * touch after it says when its events have been read. */
	seen_events = watch_events(f.w);
	tu_write(tu_path(f.dir, "sssonector.conf.swp"), "x");
	touch(f.path);
	expect_no_attempt(&f);
	CU_ASSERT_EQUAL(watch_events(f.w) - seen_events, per_touch);
	fx_stop(&f);
}

/* Names that start with ".." but are not a ConfigMap's do not hold a real
 * edit back: a stream of them (injected clock: one every 10 ms, well
 * inside the debounce) does not extend the quiet period. */
static void test_dotdot_noise(void)
{
	struct fx f;
	char name[32];

	fx_start(&f, 100);
	char *text = conf_text(&f, 123, NULL);
	write_inplace(f.path, text);
	free(text);
	uint64_t t = now_ms();
	watch_handle(f.w, t);
	for (int i = 0; i < 30; i++) {
		snprintf(name, sizeof(name), "..noise-%d", i);
		tu_write(tu_path(f.dir, name), "x");
		watch_handle(f.w, t + 10 * (uint64_t)i);
	}
	/* Due DEBOUNCE_MS after the save, not after the last noise. */
	watch_tick(f.w, t + DEBOUNCE_MS);
	CU_ASSERT_EQUAL(engine_version(f.e), f.version + 1);
	CU_ASSERT_EQUAL(running_burst(&f), 123);
	fx_stop(&f);
}

/* The daemon writing back the running bytes (SNMP write-back): no reload. */
static void test_own_write(void)
{
	struct fx f;

	fx_start(&f, 100);
	save_and_expect(&f, write_rename, 109); /* the running text is now the file's */
	seen_events = watch_events(f.w);
	struct config *c = engine_current(f.e);
	char *text = strndup((const char *)c->text, c->text_len);
	cfg_unref(c);
	write_rename(f.path, text);
	expect_no_attempt(&f);
	seen_events = watch_events(f.w);
	write_inplace(f.path, text);
	expect_no_attempt(&f);
	free(text);
	fx_stop(&f);
}

/* ---- reload.watch = false -------------------------------------------- */

static void test_disable(void)
{
	struct fx f;
	struct reload_stats st;
	const char *off = "reload = { watch = false; debounce_ms = 50; };";
	const char *on = "reload = { watch = true; debounce_ms = 50; };";

	fx_start(&f, 100);
	int ifd = watch_fd(f.w);
	char *text = conf_text(&f, 110, off);
	write_inplace(f.path, text);
	free(text);
	expect_one_reload(&f);
	CU_ASSERT_EQUAL(watch_state(f.w), WATCH_DISABLED);
	CU_ASSERT_EQUAL(watch_fd(f.w), -1);
	CU_ASSERT(fcntl(ifd, F_GETFD) < 0); /* every watch gone with the descriptor */
	CU_ASSERT_EQUAL(watch_timeout(f.w, now_ms()), -1);

	/* Edits are not seen while disabled. */
	text = conf_text(&f, 111, on);
	write_inplace(f.path, text);
	free(text);
	CU_ASSERT_FALSE(pump(&f, 6 * DEBOUNCE_MS, one_more_attempt));
	CU_ASSERT_EQUAL(engine_version(f.e), f.version);
	CU_ASSERT_EQUAL(watch_state(f.w), WATCH_DISABLED);

	/* Enabled again by another trigger (bytes that are not the file's):
	 * the watcher compares once and picks up the edit made meanwhile. */
	text = conf_text(&f, 110, on);
	CU_ASSERT_EQUAL(engine_reload(f.e, RELOAD_SRC_SNMP,
				      &(struct reload_input){ .text = text, .len = strlen(text) }, NULL),
			RELOAD_APPLIED);
	free(text);
	CU_ASSERT_EQUAL(watch_state(f.w), WATCH_WATCHING);
	CU_ASSERT(watch_fd(f.w) >= 0);
	f.version++;
	fx_stats(&f, &st);
	f.attempts = st.attempts;
	expect_one_reload(&f);
	CU_ASSERT_EQUAL(running_burst(&f), 111);
	CU_ASSERT_EQUAL(watch_state(f.w), WATCH_WATCHING);
	fx_stop(&f);
}

/* ---- the same logic with an injected clock ----------------------------- */

static const char broken1[] = "mode = \"server\";\ntunnel = {\n  listen = \n";
static const char broken2[] = "mode = \"server\";\ntunnel = {\n";

/*
 * A parse failure is reported only when two reads debounce_ms apart agree:
 * with the clock in the test's hands, the tentative read at the debounce
 * is not counted, the re-read one debounce later is (once); and a broken
 * file fixed before its re-read gives no parse error at all.  The events
 * of a write are queued when write/close return, so one watch_handle
 * reads them all.
 */
static void test_stability_clock(void)
{
	struct fx f;
	struct reload_stats st;
	const uint64_t d = DEBOUNCE_MS;

	fx_start(&f, 100);
	uint64_t t = now_ms() + 1000;
	write_inplace(f.path, broken1);
	watch_handle(f.w, t);
	CU_ASSERT_EQUAL(watch_timeout(f.w, t), (int)d);
	watch_tick(f.w, t + d - 1);
	watch_tick(f.w, t + d); /* the tentative read */
	fx_stats(&f, &st);
	CU_ASSERT_EQUAL(st.attempts, f.attempts);
	CU_ASSERT_EQUAL(st.parse_errors, 0);
	CU_ASSERT_EQUAL(watch_timeout(f.w, t + d), (int)d);
	watch_tick(f.w, t + 2 * d - 1);
	fx_stats(&f, &st);
	CU_ASSERT_EQUAL(st.attempts, f.attempts);
	watch_tick(f.w, t + 2 * d); /* the re-read: same bytes, now reported */
	fx_stats(&f, &st);
	CU_ASSERT_EQUAL(st.attempts, f.attempts + 1);
	CU_ASSERT_EQUAL(st.parse_errors, 1);
	CU_ASSERT(watch_timeout(f.w, t + 2 * d) > (int)(10 * d)); /* only the safety net left */
	for (uint64_t u = t + 2 * d; u < t + 20 * d; u += 5)
		watch_tick(f.w, u);
	fx_stats(&f, &st);
	CU_ASSERT_EQUAL(st.attempts, f.attempts + 1);
	f.attempts = st.attempts;

	/* Broken, then fixed between the tentative read and the re-read. */
	t += 1000;
	write_inplace(f.path, broken2);
	watch_handle(f.w, t);
	watch_tick(f.w, t + d); /* tentative: not counted */
	char *text = conf_text(&f, 120, NULL);
	write_inplace(f.path, text);
	free(text);
	watch_handle(f.w, t + d + 10);
	watch_tick(f.w, t + 2 * d); /* the re-read differs: a fresh change... */
	CU_ASSERT_EQUAL(engine_version(f.e), f.version);
	watch_tick(f.w, t + 2 * d + 10); /* ...applied after its own quiet period */
	CU_ASSERT_EQUAL(engine_version(f.e), f.version + 1);
	for (uint64_t u = t + 2 * d; u < t + 20 * d; u += 5)
		watch_tick(f.w, u);
	fx_stats(&f, &st);
	CU_ASSERT_EQUAL(st.attempts, f.attempts + 1);
	CU_ASSERT_EQUAL(st.parse_errors, 1);
	CU_ASSERT_EQUAL(engine_version(f.e), f.version + 1);
	CU_ASSERT_EQUAL(running_burst(&f), 120);
	fx_stop(&f);
}

/* Events lost (read away here): the slow timer still finds the change,
 * and since nothing says the writer is done, it applies it only when a
 * second read debounce_ms later finds the same bytes. */
static void test_safety_net(void)
{
	struct fx f;
	char buf[65536];

	fx_start(&f, 100);
	char *text = conf_text(&f, 121, NULL);
	write_inplace(f.path, text);
	free(text);
	while (read(watch_fd(f.w), buf, sizeof(buf)) > 0)
		;
	uint64_t t = now_ms();
	int left = watch_timeout(f.w, t);
	CU_ASSERT(left > 10 * DEBOUNCE_MS && left <= 30000);
	watch_tick(f.w, t + (uint64_t)left - 1);
	CU_ASSERT_EQUAL(engine_version(f.e), f.version);
	t += (uint64_t)left;
	watch_tick(f.w, t); /* the safety net's read: noted */
	CU_ASSERT_EQUAL(engine_version(f.e), f.version);
	CU_ASSERT_EQUAL(watch_timeout(f.w, t), DEBOUNCE_MS);
	watch_tick(f.w, t + DEBOUNCE_MS); /* the same bytes again */
	CU_ASSERT_EQUAL(engine_version(f.e), f.version + 1);
	CU_ASSERT_EQUAL(running_burst(&f), 121);
	fx_stop(&f);
}

/* A save still being written when the safety net reads it (no event seen:
 * a slow writer on a file system without inotify) is not applied, even
 * when the half-written bytes happen to parse: the re-read differs, and
 * only the bytes that stay are applied. */
static void test_safety_net_half_written(void)
{
	struct fx f;
	struct reload_stats st;
	char buf[65536];

	fx_start(&f, 100);
	/* The first half parses: every setting but the rest of the file. */
	char *half = conf_text(&f, 12, NULL), *full = conf_text(&f, 124, NULL);
	write_inplace(f.path, half);
	while (read(watch_fd(f.w), buf, sizeof(buf)) > 0)
		;
	uint64_t t = now_ms() + (uint64_t)watch_timeout(f.w, now_ms());
	watch_tick(f.w, t);
	write_inplace(f.path, full); /* the writer goes on */
	while (read(watch_fd(f.w), buf, sizeof(buf)) > 0)
		;
	watch_tick(f.w, t + DEBOUNCE_MS); /* differs: noted again */
	CU_ASSERT_EQUAL(engine_version(f.e), f.version);
	watch_tick(f.w, t + 2 * DEBOUNCE_MS); /* stable: applied */
	CU_ASSERT_EQUAL(engine_version(f.e), f.version + 1);
	CU_ASSERT_EQUAL(running_burst(&f), 124);
	fx_stats(&f, &st);
	CU_ASSERT_EQUAL(st.attempts, f.attempts + 1);
	free(half);
	free(full);
	fx_stop(&f);
}

/* A queue overflow (more events than max_queued_events, the change's own
 * events dropped) makes the watcher rescan and look. */
static void test_overflow(void)
{
	struct fx f;
	unsigned char *v;
	size_t len;
	long max = 0;

	if (read_file("/proc/sys/fs/inotify/max_queued_events", CFG_PEM_MAX, &v, &len) == 0) {
		max = strtol((char *)v, NULL, 10);
		free(v);
	}
	if (max <= 0 || max > 200000) {
		fprintf(stderr, "(skipped: max_queued_events=%ld) ", max);
		return;
	}
	fx_start(&f, 100);
	/* Two names in turn, so the kernel cannot merge consecutive events. */
	long i;
	for (i = 0; i < max + 64; i++) {
		int fd = open(tu_path(f.dir, i % 2 ? "noise.a" : "noise.b"),
			      O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
		if (fd < 0 || close(fd) != 0)
			break;
	}
	CU_ASSERT_EQUAL_FATAL(i, max + 64);
	char *text = conf_text(&f, 122, NULL);
	write_inplace(f.path, text);
	free(text);
	expect_one_reload(&f);
	/* the overflow counted, not the noise */
	CU_ASSERT(watch_events(f.w) >= 1 && watch_events(f.w) < (uint32_t)max);
	CU_ASSERT_EQUAL(running_burst(&f), 122);
	fx_stop(&f);
}

int main(void)
{
	if (getenv("WATCH_TEST_DEBUG"))
		log_set_level(LOG_LEVEL_DEBUG);
	if (CU_initialize_registry() != CUE_SUCCESS)
		return 99;
	CU_pSuite s = CU_add_suite("debounce", NULL, NULL);
	CU_add_test(s, "arming and due", test_debounce_arming);
	CU_add_test(s, "quiet period extension", test_debounce_quiet_period);
	CU_add_test(s, "non-arming events while idle", test_debounce_idle);
	CU_add_test(s, "debounce 0", test_debounce_zero);
	CU_add_test(s, "chunked writes give one due", test_debounce_chunked);
	s = CU_add_suite("watch", NULL, NULL);
	CU_add_test(s, "in-place write", test_inplace);
	CU_add_test(s, "temp + rename", test_rename);
	CU_add_test(s, "delete and recreate", test_delete_recreate);
	CU_add_test(s, "ConfigMap ..data swap", test_configmap);
	CU_add_test(s, "symlink retargeted", test_symlink_retarget);
	CU_add_test(s, "truncate and chunked writes", test_chunked);
	CU_add_test(s, "certificate rewritten in place", test_cert_rotation);
	CU_add_test(s, "deleted then recreated", test_missing_then_back);
	CU_add_test(s, "broken save then fix", test_broken_then_fix);
	CU_add_test(s, "touch and unrelated files", test_touch);
	CU_add_test(s, "the daemon's own write-back", test_own_write);
	CU_add_test(s, "reload.watch=false", test_disable);
	CU_add_test(s, "stability re-read, injected clock", test_stability_clock);
	CU_add_test(s, "safety net", test_safety_net);
	CU_add_test(s, "safety net reads a half-written save", test_safety_net_half_written);
	CU_add_test(s, "\"..\" names that are not a ConfigMap's", test_dotdot_noise);
	CU_add_test(s, "queue overflow", test_overflow);
	return tu_run();
}
