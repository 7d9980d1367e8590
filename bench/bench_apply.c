/* SPDX-License-Identifier: MIT */
/*
 * bench_apply.c - in-process cost of one applied change through the engine.
 *
 * Builds the engine with the components the daemon registers, then applies
 * N changes (tunnel.upload_kbps alternating between two values, so every
 * reload is a real change: read, parse, validate, certificate checks, diff,
 * hash, prepare, commit), and prints:
 *
 *   apply_us p50=... p99=... max=... n=...      (per engine_reload)
 *   rss_kib after=100 ...  after=N ...  growth=...%
 *
 * then N rejected reloads of the same file with a syntax error on an 8 KB
 * string (libconfig 1.5 leaks the string it discards; the loader checks
 * the syntax on a text without strings first):
 *
 *   rejected_us p50=... p99=... n=...
 *   rejected_rss_kib after=100 ... after=N ... growth=...%
 *
 * usage: bench_apply CONFIG [N] [--tunnel]   (CONFIG: a valid configuration
 * whose tunnel group holds "upload_kbps = 1000;"; the file is rewritten)
 *
 * --tunnel also registers the data plane's component (dp_component: TLS
 * context, listener, limiter buckets) ahead of the others, as the daemon
 * does, and runs its thread, so every commit is installed live by the
 * data-plane loop (buckets reconfigured) while the next one is measured.
 * CONFIG then binds its listen address: give it a free port.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "dataplane.h"
#include "log.h"
#include "reload.h"
#include "stats.h"
#include "watch.h"

static long rss_kib(void)
{
	long pages = 0, rss = 0;
	FILE *f = fopen("/proc/self/statm", "r");

	if (!f)
		return -1;
	if (fscanf(f, "%ld %ld", &pages, &rss) != 2)
		rss = -1;
	fclose(f);
	return rss * 4;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

/* Replace "upload_kbps = A;" by "upload_kbps = B;" in text (same length). */
static void set_rate(char *text, int kbps)
{
	char *p = strstr(text, "upload_kbps = ");
	if (!p) {
		fprintf(stderr, "bench_apply: the configuration needs \"upload_kbps = 1000;\"\n");
		exit(2);
	}
	char num[8];
	snprintf(num, sizeof(num), "%04d", kbps);
	memcpy(p + strlen("upload_kbps = "), num, 4);
}

static void write_all(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	if (!f || fputs(text, f) < 0 || fclose(f) != 0) {
		perror(path);
		exit(1);
	}
}

int main(int argc, char **argv)
{
	bool tunnel = argc > 1 && !strcmp(argv[argc - 1], "--tunnel");
	if (tunnel)
		argc--;
	if (argc < 2) {
		fprintf(stderr, "usage: bench_apply CONFIG [N] [--tunnel]\n");
		return 2;
	}
	const char *path = argv[1];
	long n = argc > 2 ? atol(argv[2]) : 10000;
	static struct tunnel_stats tstats;
	struct dataplane *dp = NULL;
	unsigned char *orig;
	size_t len;

	if (n < 100 || read_file(path, CFG_PEM_MAX, &orig, &len) != 0) {
		fprintf(stderr, "bench_apply: cannot read %s (or N < 100)\n", path);
		return 2;
	}
	log_set_level(LOG_LEVEL_ERROR); /* the audit lines are not what we measure */

	struct engine *e = engine_new(path);
	struct watch *w = watch_new(e);
	if (tunnel) {
		dp = dp_new(&tstats);
		engine_register(e, dp_component(dp));
	}
	engine_register(e, watch_component(w));
	char *text = strdup((char *)orig);
	set_rate(text, 1000);
	write_all(path, text);
	if (engine_reload(e, RELOAD_SRC_STARTUP, NULL, NULL) != RELOAD_APPLIED) {
		fprintf(stderr, "bench_apply: %s is not valid (try sssonector -t -c %s)\n", path, path);
		return 1;
	}
	if (dp && dp_start(dp) < 0) {
		fprintf(stderr, "bench_apply: cannot start the data-plane thread\n");
		return 1;
	}

	/* Touch every page of the samples now: pages first written during the
	 * loop would show up as RSS growth of the daemon's code. */
	uint64_t *us = malloc((size_t)n * sizeof(*us));
	memset(us, 0xff, (size_t)n * sizeof(*us));
	long rss100 = 0;
	for (long i = 0; i < n; i++) {
		set_rate(text, i % 2 ? 1000 : 2000);
		write_all(path, text);
		uint64_t t0 = now_us();
		enum reload_result r = engine_reload(e, RELOAD_SRC_FILE, NULL, NULL);
		us[i] = now_us() - t0;
		if (r != RELOAD_APPLIED) {
			fprintf(stderr, "bench_apply: reload %ld was %s\n", i, reload_result_name(r));
			return 1;
		}
		if (i + 1 == 100)
			rss100 = rss_kib();
	}
	long rssn = rss_kib();
	qsort(us, (size_t)n, sizeof(*us), cmp_u64);
	printf("apply_us p50=%llu p99=%llu max=%llu n=%ld version=%u%s\n",
	       (unsigned long long)us[n / 2], (unsigned long long)us[n * 99 / 100],
	       (unsigned long long)us[n - 1], n, engine_version(e),
	       tunnel ? " components=tunnel,watch" : "");
	printf("rss_kib after=100:%ld after=%ld:%ld growth=%.2f%%\n", rss100, n, rssn,
	       rss100 > 0 ? 100.0 * (double)(rssn - rss100) / (double)rss100 : 0.0);

	/* Rejected reloads: the valid text, then strings and a syntax error. */
	struct sbuf bad = { 0 };
	sbuf_add(&bad, text);
	sbuf_add(&bad, "\nleak \""); /* the string is what the error is about */
	for (int k = 0; k < 8192; k++)
		sbuf_add(&bad, "x");
	sbuf_add(&bad, "\"\n");
	struct reload_input in = { .text = bad.s, .len = bad.len };
	memset(us, 0xff, (size_t)n * sizeof(*us));
	/* their audit lines are errors: not what we measure */
	fflush(stderr);
	int saved_err = dup(2), devnull = open("/dev/null", O_WRONLY);
	dup2(devnull, 2);
	for (long i = 0; i < n; i++) {
		uint64_t t0 = now_us();
		enum reload_result r = engine_reload(e, RELOAD_SRC_FILE, &in, NULL);
		us[i] = now_us() - t0;
		if (r != RELOAD_PARSE_ERROR) {
			dup2(saved_err, 2);
			fprintf(stderr, "bench_apply: rejected reload %ld was %s\n", i, reload_result_name(r));
			return 1;
		}
		if (i + 1 == 100)
			rss100 = rss_kib();
	}
	rssn = rss_kib();
	dup2(saved_err, 2);
	close(saved_err);
	close(devnull);
	qsort(us, (size_t)n, sizeof(*us), cmp_u64);
	printf("rejected_us p50=%llu p99=%llu n=%ld\n", (unsigned long long)us[n / 2],
	       (unsigned long long)us[n * 99 / 100], n);
	printf("rejected_rss_kib after=100:%ld after=%ld:%ld growth=%.2f%% goal=flat\n", rss100, n, rssn,
	       rss100 > 0 ? 100.0 * (double)(rssn - rss100) / (double)rss100 : 0.0);
	sbuf_free(&bad);

	write_all(path, (char *)orig);
	free(us);
	free(text);
	free(orig);
	if (dp)
		dp_stop(dp);
	engine_free(e);
	watch_free(w);
	dp_free(dp);
	return 0;
}
