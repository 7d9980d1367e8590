/* SPDX-License-Identifier: MIT */
/*
 * fuzz_splice.c - the SNMP write-back splice (wb_splice).  The first byte
 * picks which SNMP-writable settings to edit, the next eight their values
 * (within each setting's range, from the settings table); the rest is a
 * configuration text ("@PKI@" as in fuzz_config), which must load first.
 *
 * Invariants: a splice that succeeds gives bytes that parse, in which each
 * edited setting has its new value and every other setting the value it
 * had; a splice that refuses says why.  Nothing is written to disk.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "fuzz_common.h"
#include "writeback.h"

#define MAX_EDITS 8

static void fail(const char *why, const char *key, const char *text)
{
	fprintf(stderr, "fuzz_splice: %s%s%s\n--- spliced:\n%s---\n", why, key ? ": " : "", key ? key : "",
		text ? text : "");
	abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct wb_edit ed[MAX_EDITS];
	char val[MAX_EDITS][24];
	size_t n = 0, k = 0, len;
	char path[400];

	if (size < 9)
		return 0;
	/* the writable settings, in table order */
	for (size_t i = 0; i < cfg_n_settings && n < MAX_EDITS; i++) {
		const struct cfg_setting *s = &cfg_settings[i];
		if (!(s->flags & CFG_F_SNMP_WRITABLE))
			continue;
		if (data[0] & (1u << k)) {
			unsigned v = (unsigned)data[1 + 2 * (k % 4)] << 8 | data[2 + 2 * (k % 4)];
			if (s->type == CFG_T_BOOL)
				snprintf(val[n], sizeof(val[n]), "%s", v & 1 ? "true" : "false");
			else
				snprintf(val[n], sizeof(val[n]), "%lld", s->min + (long long)v % (s->max - s->min + 1));
			ed[n].key = s->key;
			ed[n].value = val[n];
			n++;
		}
		k++;
	}
	char *text = fz_subst(data + 9, size - 9, &len);
	struct config *c = NULL, *out_cfg = NULL;
	struct cfg_errors errs = { 0 };
	struct sbuf out = { 0 };

	snprintf(path, sizeof(path), "%s/splice.conf", fz_dir());
	if (cfg_load(path, text, len, &c, &errs) != CFG_OK)
		goto done;
	cfg_errors_clear(&errs);
	if (wb_splice(c, ed, n, &out, &errs) < 0) {
		if (errs.n == 0)
			fail("refused without a reason", NULL, NULL);
		goto done;
	}
	cfg_errors_clear(&errs);
	if (cfg_parse(path, out.s ? out.s : "", out.len, &out_cfg, &errs) != CFG_OK)
		fail("the spliced bytes do not load", NULL, out.s);
	for (size_t i = 0; i < cfg_n_settings; i++) {
		const struct cfg_setting *s = &cfg_settings[i];
		const char *want = NULL;
		for (size_t e = 0; e < n; e++)
			if (strcmp(ed[e].key, s->key) == 0)
				want = ed[e].value;
		if (want) {
			struct sbuf got = { 0 };
			cfg_value_format(out_cfg, s, true, &got);
			if (strcmp(sbuf_str(&got), want) != 0)
				fail("an edited setting does not have its new value", s->key, out.s);
			sbuf_free(&got);
		} else if (!cfg_value_equal(c, out_cfg, s)) {
			fail("a setting that was not edited changed", s->key, out.s);
		}
	}
done:
	cfg_unref(c);
	cfg_unref(out_cfg);
	cfg_errors_free(&errs);
	sbuf_free(&out);
	free(text);
	return 0;
}
