/* SPDX-License-Identifier: MIT */
/*
 * fuzz_config.c - the configuration loader and validator (cfg_load), fed
 * the text of a configuration file that lives in a directory with a valid
 * PKI: server.crt, server.key, ca.crt, client.crt and client.key resolve
 * there, and "@PKI@" becomes that directory, so tests/bad works as seeds.
 *
 * Invariants: the loader never crashes, hangs or leaks, whatever the text
 * (its @include directives reach the real file system: /dev/zero, FIFOs,
 * directories); a configuration it accepts, printed as --print-config
 * prints it, loads back to the same effective configuration and the same
 * hash (without a key password, which the print masks).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "fuzz_common.h"

static void fail(const char *why, const struct cfg_errors *errs, const char *text)
{
	struct sbuf l = { 0 };

	fprintf(stderr, "fuzz_config: %s\n", why);
	for (size_t i = 0; errs && i < errs->n; i++) {
		sbuf_reset(&l);
		cfg_error_format(&errs->v[i], &l);
		fprintf(stderr, "  %s\n", sbuf_str(&l));
	}
	if (text)
		fprintf(stderr, "--- printed:\n%s---\n", text);
	sbuf_free(&l);
	abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char path[400];
	size_t len;
	char *text = fz_subst(data, size, &len);
	struct config *c = NULL, *back = NULL;
	struct cfg_errors errs = { 0 };

	snprintf(path, sizeof(path), "%s/fuzz.conf", fz_dir());
	enum cfg_status st = cfg_load(path, text, len, &c, &errs);
	if (st != CFG_OK && errs.n == 0)
		fail("refused without an error", NULL, NULL);
	if (st == CFG_OK && !c->tunnel.key_password) {
		char *out = NULL;
		size_t olen = 0;
		FILE *f = open_memstream(&out, &olen);
		cfg_print(c, f);
		fclose(f);
		if (cfg_load(path, out, olen, &back, &errs) != CFG_OK)
			fail("the printed configuration does not load", &errs, out);
		if (cfg_diff(c, back, NULL, NULL) != 0 || memcmp(c->hash, back->hash, SHA256_LEN) != 0)
			fail("the printed configuration loads to another one", NULL, out);
		free(out);
	}
	cfg_unref(c);
	cfg_unref(back);
	cfg_errors_free(&errs);
	free(text);
	return 0;
}
