/* SPDX-License-Identifier: MIT */
/* testutil.c - see testutil.h. */
#include "testutil.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <CUnit/Basic.h>

#include "util.h"

static char *dirs[64];
static int n_dirs;

const char *tu_tmpdir(void)
{
	const char *base = getenv("TMPDIR");
	char tmpl[512];

	snprintf(tmpl, sizeof(tmpl), "%s/sss-unit.XXXXXX", base && *base ? base : "/tmp");
	if (!mkdtemp(tmpl) || n_dirs == 64) {
		perror("mkdtemp");
		exit(99);
	}
	dirs[n_dirs++] = strdup(tmpl);
	return dirs[n_dirs - 1];
}

const char *tu_pki(void)
{
	static const char *pki;
	char cmd[1024];
	const char *src = getenv("top_srcdir");

	if (pki)
		return pki;
	pki = tu_tmpdir();
	snprintf(cmd, sizeof(cmd), "sh '%s/scripts/mkpki.sh' '%s' >/dev/null", src ? src : ".", pki);
	if (system(cmd) != 0) {
		fprintf(stderr, "mkpki.sh failed: %s\n", cmd);
		exit(99);
	}
	return pki;
}

char *tu_read(const char *path)
{
	unsigned char *d = NULL;
	size_t n = 0;

	return read_file(path, SIZE_MAX - 1, &d, &n) == 0 ? (char *)d : NULL;
}

const char *tu_path(const char *dir, const char *name)
{
	static char bufs[8][512];
	static int i;
	char *b = bufs[i++ % 8];

	snprintf(b, sizeof(bufs[0]), "%s/%s", dir, name);
	return b;
}

void tu_write(const char *path, const char *s)
{
	FILE *f = fopen(path, "w");

	if (!f || fputs(s, f) < 0 || fclose(f) != 0) {
		perror(path);
		exit(99);
	}
	chmod(path, 0600);
}

const char *tu_server_conf(const char *dir, const char *name, const char *extra)
{
	const char *pki = tu_pki();
	char buf[8192];
	const char *path = tu_path(dir, name);

	snprintf(buf, sizeof(buf),
		 "mode = \"server\";\n"
		 "tunnel = {\n"
		 "  listen = \"127.0.0.1:44300\";\n"
		 "  cert_file = \"%s/server.crt\";\n"
		 "  key_file = \"%s/server.key\";\n"
		 "  ca_file = \"%s/ca.crt\";\n"
		 "};\n"
		 "forward = { target = \"127.0.0.1:5201\"; };\n"
		 "%s\n",
		 pki, pki, pki, extra ? extra : "");
	tu_write(path, buf);
	return path;
}

void tu_cleanup(void)
{
	char cmd[600];

	for (int i = 0; i < n_dirs; i++) {
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dirs[i]);
		if (system(cmd) != 0)
			fprintf(stderr, "could not remove %s\n", dirs[i]);
		free(dirs[i]);
	}
	n_dirs = 0;
}

int tu_run(void)
{
	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	unsigned failed = CU_get_number_of_failures() + CU_get_number_of_tests_failed();
	CU_cleanup_registry();
	tu_cleanup();
	return failed ? 1 : 0;
}

const char *tu_write_kv(const char *path, const char *const *kv)
{
	size_t n = 0, len = 0;
	char *buf;
	FILE *f;

	while (kv[n])
		n += 2;
	f = open_memstream(&buf, &len);
	if (!f)
		exit(99);
	for (size_t i = 0; i < n; i += 2) /* top level */
		if (!strchr(kv[i], '.'))
			fprintf(f, "%s = %s;\n", kv[i], kv[i + 1]);
	for (size_t i = 0; i < n; i += 2) {
		const char *dot = strchr(kv[i], '.');
		size_t glen = dot ? (size_t)(dot - kv[i]) : 0;
		int seen = 0;

		if (!dot)
			continue;
		for (size_t j = 0; j < i && !seen; j += 2)
			seen = strchr(kv[j], '.') && strncmp(kv[j], kv[i], glen + 1) == 0;
		if (seen)
			continue;
		fprintf(f, "%.*s = {\n", (int)glen, kv[i]);
		for (size_t j = i; j < n; j += 2)
			if (strncmp(kv[j], kv[i], glen + 1) == 0)
				fprintf(f, "  %s = %s;\n", kv[j] + glen + 1, kv[j + 1]);
		fprintf(f, "};\n");
	}
	fclose(f);
	tu_write(path, buf);
	free(buf);
	return path;
}

int tu_kv_line(const char *path, const char *key)
{
	FILE *f = fopen(path, "r");
	char line[4096], group[256] = "";
	const char *dot = strchr(key, '.');
	int n = 0, found = 0;

	if (!f)
		return 0;
	while (!found && fgets(line, sizeof(line), f)) {
		char name[256];
		n++;
		if (sscanf(line, " %255[^ =] = {", name) == 1 && strstr(line, "{") && line[0] != ' ') {
			snprintf(group, sizeof(group), "%s", name);
			found = !dot && strcmp(name, key) == 0;
		} else if (strncmp(line, "};", 2) == 0) {
			group[0] = '\0';
		} else if (sscanf(line, " %255[^ =] =", name) == 1) {
			if (dot)
				found = strlen(group) == (size_t)(dot - key) &&
					strncmp(group, key, (size_t)(dot - key)) == 0 && strcmp(name, dot + 1) == 0;
			else
				found = !group[0] && strcmp(name, key) == 0;
		}
	}
	fclose(f);
	return found ? n : 0;
}

void tu_copy(const char *src, const char *dst, int mode)
{
	FILE *in = fopen(src, "rb"), *out = in ? fopen(dst, "wb") : NULL;
	char buf[8192];
	size_t n;

	if (!in || !out) {
		perror(in ? dst : src);
		exit(99);
	}
	while ((n = fread(buf, 1, sizeof(buf), in)) > 0)
		if (fwrite(buf, 1, n, out) != n)
			exit(99);
	fclose(in);
	if (fclose(out) != 0 || chmod(dst, (mode_t)mode) != 0) {
		perror(dst);
		exit(99);
	}
}
