/* SPDX-License-Identifier: MIT */
/*
 * fuzz_varbind.c - the checks a SET PDU's varbinds get in RESERVE1, through
 * the MIB handler as the agent library calls it: up to eight varbinds, each
 * an object (any scalar of SSSONECTOR-MIB, a wrong instance, or an OID made
 * of the input's bytes), a type and a value of any length.
 *
 * Invariants: the handler never crashes or leaks; when it accepts every
 * varbind, each value is one the settings table allows for the setting
 * behind the object (a rate within its row's bounds, a TruthValue 1 or 2),
 * sssConfigReload is reload(2), sssConfigRollback names a version in the
 * history, and reload or rollback stand alone.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "fuzz_common.h"
#include "mibpriv.h"

static struct engine *eng;
static struct mib *mib;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *conf = fz_write_conf("varbind.conf", NULL);

	eng = engine_new(conf);
	if (engine_reload(eng, RELOAD_SRC_STARTUP, NULL, NULL) != RELOAD_APPLIED) {
		fprintf(stderr, "fuzz_varbind: the start-up configuration does not load\n");
		abort();
	}
	mib = mib_new(eng, NULL);
	return 0;
}

static void fail(const char *why, int obj, long value)
{
	fprintf(stderr, "fuzz_varbind: %s (object %d, value %ld)\n", why, obj, value);
	abort();
}

/* The value the handler reads from vb, as check_varbind reads it. */
static long value_of(const netsnmp_variable_list *vb)
{
	long x = *vb->val.integer;

	return vb->type == ASN_UNSIGNED ? (long)(*(const unsigned long *)vb->val.integer & 0xffffffffUL) : x;
}

/* Take n bytes of input (zeros past its end). */
static void take(const uint8_t **p, const uint8_t *end, void *out, size_t n)
{
	size_t have = (size_t)(end - *p) < n ? (size_t)(end - *p) : n;

	memset(out, 0, n);
	memcpy(out, *p, have);
	*p += have;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const u_char types[] = { ASN_INTEGER, ASN_UNSIGNED, ASN_OCTET_STR, ASN_NULL, ASN_COUNTER,
					ASN_GAUGE, ASN_TIMETICKS, ASN_COUNTER64, ASN_OBJECT_ID, ASN_IPADDRESS };
	const uint8_t *p = data, *end = data + size;
	netsnmp_agent_request_info info;
	netsnmp_request_info req[8];
	netsnmp_variable_list *vars = NULL;
	netsnmp_mib_handler handler = { .myvoid = mib };
	int n = 0;

	if (!eng)
		LLVMFuzzerInitialize(NULL, NULL);
	memset(&info, 0, sizeof(info));
	memset(req, 0, sizeof(req));
	while (p < end && n < 8) {
		uint8_t pick, type, vlen, raw[8];
		oid name[MAX_OID_LEN] = { MIB_ROOT, 1 };
		size_t len = MIB_ROOT_LEN + 3;
		take(&p, end, &pick, 1);
		if (pick < 2 * O_N) {
			/* a scalar: .0, or another instance */
			name[MIB_ROOT_LEN + 1] = mib_scalars[pick % O_N].g;
			name[MIB_ROOT_LEN + 2] = mib_scalars[pick % O_N].o;
			name[MIB_ROOT_LEN + 3] = pick < O_N ? 0 : 1;
			len = MIB_ROOT_LEN + 4;
		} else {
			/* an OID of the input's bytes, under the root or not */
			uint8_t k;
			take(&p, end, &k, 1);
			len = pick & 1 ? MIB_ROOT_LEN + 1 + k % 8 : 1 + k % 16;
			for (size_t i = pick & 1 ? MIB_ROOT_LEN + 1 : 0; i < len; i++) {
				uint8_t b;
				take(&p, end, &b, 1);
				name[i] = b;
			}
		}
		take(&p, end, &type, 1);
		take(&p, end, &vlen, 1);
		take(&p, end, raw, sizeof(raw));
		u_char t = types[type % sizeof(types)];
		if (t == ASN_NULL)
			snmp_varlist_add_variable(&vars, name, len, t, NULL, 0);
		else
			snmp_varlist_add_variable(&vars, name, len, t, raw, vlen % (sizeof(raw) + 1));
		n++;
	}
	/* what the library made of them (a value it refuses is not added) */
	int i = 0;
	for (netsnmp_variable_list *v = vars; v; v = v->next_variable, i++) {
		req[i].requestvb = v;
		req[i].index = i + 1;
		req[i].agent_req_info = &info;
		if (i) {
			req[i - 1].next = &req[i];
			req[i].prev = &req[i - 1];
		}
	}
	n = i;
	if (!n)
		return 0;
	info.mode = MODE_SET_RESERVE1;
	mib_handler(&handler, NULL, &info, req);

	bool error = false, special = false;
	for (int k = 0; k < n; k++)
		error |= req[k].status != 0;
	for (int k = 0; !error && k < n; k++) {
		const netsnmp_variable_list *vb = req[k].requestvb;
		int obj = -1;
		for (int o = 0; o < O_N; o++)
			if (vb->name_length == MIB_ROOT_LEN + 4 && vb->name[MIB_ROOT_LEN + 1] == mib_scalars[o].g &&
			    vb->name[MIB_ROOT_LEN + 2] == mib_scalars[o].o && vb->name[MIB_ROOT_LEN + 3] == 0)
				obj = o;
		if (obj < 0 || !mib_scalars[obj].writable)
			fail("a varbind that is not a writable scalar was accepted", obj, 0);
		long x = value_of(vb);
		if (obj == O_RELOAD || obj == O_ROLLBACK) {
			special = true;
			struct reload_history h;
			if (obj == O_RELOAD ? x != 2 : engine_history_find(eng, (uint32_t)x, &h) < 0)
				fail("a reload or rollback value was accepted", obj, x);
			if (obj == O_ROLLBACK)
				reload_history_clear(&h);
			continue;
		}
		if (obj == O_SPINLOCK) { /* TestAndIncr: only its current value */
			if (x != mib->spinlock)
				fail("a spin lock value other than the current one was accepted", obj, x);
			continue;
		}
		const struct cfg_setting *s = cfg_setting_find(mib_scalars[obj].key);
		if (s->type == CFG_T_BOOL ? x != 1 && x != 2 : x < s->min || x > s->max)
			fail("a value outside the setting's range was accepted", obj, x);
	}
	if (!error && special && n > 1) {
		/* the same object twice with one value is one varbind */
		for (int k = 1; k < n; k++)
			if (snmp_oid_compare(req[k].requestvb->name, req[k].requestvb->name_length,
					     req[0].requestvb->name, req[0].requestvb->name_length) != 0)
				fail("reload or rollback accepted with other objects", -1, 0);
	}
	info.mode = MODE_SET_FREE;
	mib_handler(&handler, NULL, &info, req);
	netsnmp_free_agent_data_sets(&info);
	snmp_free_varbind(vars);
	return 0;
}
