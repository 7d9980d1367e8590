/* SPDX-License-Identifier: MIT */
/*
 * config.c - build an immutable configuration snapshot from a libconfig
 * file, checked against the settings table, and compare snapshots.
 *
 * cfg_load parses, walks the tree (unknown keys, types, ranges, values),
 * fills defaults by parsing the table's default texts through the same
 * code, then checks required keys, keys that mean nothing for the mode or
 * transport, cross-field rules and the files named (cfgfiles.c).  Every
 * problem is collected; a snapshot is only handed out when there is none.
 * Nothing here applies a configuration, logs, or shows a secret.
 */

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libconfig.h>

#include "cfgtext.h"
#include "config.h"

#define MASK "********"
#define BIT(i) (UINT64_C(1) << (i))
#define FIELD(c, s, T) ((T *)(void *)((char *)(c) + (s)->offset))

/* State of one cfg_load. */
struct loader {
	struct config *c;
	struct cfg_errors *errs;
	char *dir;       /* absolute directory of c->path: @include and relative paths */
	uint64_t bad;    /* settings written with a bad value, or inside a bad group */
	bool defaults;   /* walking the defaults document, not the user's */
	struct cfg_text text; /* what libconfig parsed, and where its lines came from */
};

/* ---- small helpers -------------------------------------------------- */

/* The directory of path, made absolute with the working directory. */
static char *dir_of(const char *path)
{
	const char *slash = strrchr(path, '/');
	char cwd[4096];
	struct sbuf b = { 0 };

	if (slash == path)
		return xstrdup("/");
	if (path[0] != '/') {
		if (!getcwd(cwd, sizeof(cwd)))
			snprintf(cwd, sizeof(cwd), ".");
		sbuf_add(&b, cwd);
		if (slash) {
			sbuf_add(&b, "/");
			sbuf_addn(&b, path, (size_t)(slash - path));
		}
		return b.s;
	}
	sbuf_addn(&b, path, (size_t)(slash - path));
	return b.s;
}

/* The file and line a libconfig setting was written at: the main file or
 * one of c->includes, through the expanded text's line map. */
static const char *setting_where(const struct loader *L, const config_setting_t *cs, int *line)
{
	int out_line = (int)config_setting_source_line(cs);

	if (L->defaults) {
		*line = out_line;
		return L->c->path;
	}
	return cfg_text_where(&L->text, L->c, out_line, line);
}

static void add_err(struct loader *L, const config_setting_t *cs, const char *key, const char *value,
		    const char *msg)
{
	int line;
	const char *file = setting_where(L, cs, &line);

	cfg_errors_add(L->errs, file, line, key, value, "%s", msg);
}

/* A setting's value as written, for "(got: ...)": strings quoted. */
static void written(const config_setting_t *cs, bool secret, struct sbuf *out)
{
	if (secret) {
		sbuf_add(out, MASK);
		return;
	}
	switch (cs->type) {
	case CONFIG_TYPE_INT: sbuf_printf(out, "%d", cs->value.ival); break;
	case CONFIG_TYPE_INT64: sbuf_printf(out, "%lldL", cs->value.llval); break;
	case CONFIG_TYPE_FLOAT: sbuf_printf(out, "%g", cs->value.fval); break;
	case CONFIG_TYPE_BOOL: sbuf_add(out, cs->value.ival ? "true" : "false"); break;
	case CONFIG_TYPE_STRING: sbuf_printf(out, "\"%s\"", cs->value.sval ? cs->value.sval : ""); break;
	default: {
		const char *open = cs->type == CONFIG_TYPE_GROUP ? "{" : cs->type == CONFIG_TYPE_ARRAY ? "[" : "(";
		const char *close = cs->type == CONFIG_TYPE_GROUP ? "}" : cs->type == CONFIG_TYPE_ARRAY ? "]" : ")";
		int n = config_setting_length(cs);
		sbuf_printf(out, "%s ", open);
		for (int i = 0; i < n; i++) {
			const config_setting_t *e = config_setting_get_elem(cs, (unsigned)i);
			if (i)
				sbuf_add(out, ", ");
			if (cs->type == CONFIG_TYPE_GROUP)
				sbuf_printf(out, "%s = ", e->name);
			written(e, false, out);
		}
		sbuf_printf(out, "%s%s", n ? " " : "", close);
	}
	}
}

static void value_err(struct loader *L, const struct cfg_setting *s, const config_setting_t *cs,
		      const char *msg)
{
	struct sbuf v = { 0 };

	written(cs, s->flags & CFG_F_SECRET, &v);
	add_err(L, cs, s->key, sbuf_str(&v), msg);
	sbuf_free(&v);
}

/*
 * libconfig 1.5 reads a decimal integer with atoi(): 4294967304 silently
 * becomes 8.  Find the literal on the setting's line and read it again
 * with strtoll, so that such a value is reported out of range instead.
 * Returns libconfig's value when the literal cannot be found.
 */
static long long int_value(const struct loader *L, const config_setting_t *cs)
{
	long long v = config_setting_get_int64(cs);
	const char *text = sbuf_str(&L->text.text), *name = cs->name;
	size_t len = L->text.text.len;

	if (cs->type != CONFIG_TYPE_INT || cs->format == CONFIG_FORMAT_HEX || !name || L->defaults)
		return v;
	const char *p = text, *end = text + len;
	for (unsigned l = 1; l < config_setting_source_line(cs); l++) {
		p = memchr(p, '\n', (size_t)(end - p));
		if (!p)
			return v;
		p++;
	}
	const char *eol = memchr(p, '\n', (size_t)(end - p));
	size_t nlen = strlen(name);
	if (!eol)
		eol = end;
	for (const char *q = p; q + nlen < eol; q++) {
		if (strncmp(q, name, nlen) != 0 || (q > p && (isalnum((unsigned char)q[-1]) || q[-1] == '_')))
			continue;
		const char *r = q + nlen;
		while (r < eol && (*r == ' ' || *r == '\t'))
			r++;
		if (r >= eol || (*r != '=' && *r != ':'))
			continue;
		char *e;
		long long lit = strtoll(r + 1, &e, 10);
		/* the literal libconfig read, if atoi() of it gives its value */
		if (e != r + 1 && !isalnum((unsigned char)*e) && *e != '.' && (int)lit == (int)v)
			return lit;
	}
	return v;
}

/* ---- one value ------------------------------------------------------ */

static const char *enum_names(const struct cfg_setting *s, struct sbuf *b)
{
	for (size_t i = 0; s->values[i]; i++)
		sbuf_printf(b, "%s%s", i ? ", " : "", s->values[i]);
	return sbuf_str(b);
}

static bool set_list(struct loader *L, const struct cfg_setting *s, const config_setting_t *cs)
{
	struct cfg_strlist *l = FIELD(L->c, s, struct cfg_strlist);
	int n = config_setting_length(cs);

	if (cs->type != CONFIG_TYPE_LIST && cs->type != CONFIG_TYPE_ARRAY)
		goto bad;
	for (int i = 0; i < n; i++)
		if (config_setting_type(config_setting_get_elem(cs, (unsigned)i)) != CONFIG_TYPE_STRING)
			goto bad;
	for (int i = 0; i < n; i++) {
		const char *e = config_setting_get_string_elem(cs, i), *why;
		if (!*e) {
			value_err(L, s, cs, "must be a list of non-empty strings");
			return false;
		}
		if (s->check && (why = s->check(e))) {
			struct sbuf m = { 0 };
			sbuf_printf(&m, "entry %d: %s", i + 1, why);
			value_err(L, s, cs, sbuf_str(&m));
			sbuf_free(&m);
			return false;
		}
	}
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	l->n = (size_t)n;
	l->v = xcalloc((size_t)n, sizeof(char *));
	for (int i = 0; i < n; i++)
		l->v[i] = xstrdup(config_setting_get_string_elem(cs, i));
	return true;
bad:
	value_err(L, s, cs, "must be a list of strings");
	return false;
}

static bool set_int(struct loader *L, const struct cfg_setting *s, const config_setting_t *cs)
{
	if (cs->type != CONFIG_TYPE_INT && cs->type != CONFIG_TYPE_INT64) {
		value_err(L, s, cs, "must be an integer");
		return false;
	}
	long long v = int_value(L, cs);
	if (v < s->min || v > s->max) {
		struct sbuf msg = { 0 }, got = { 0 };
		if (s->flags & CFG_F_ZERO_OFF)
			sbuf_printf(&msg, "must be 0 (off) or between %lld and %lld", s->min + 1, s->max);
		else
			sbuf_printf(&msg, "must be between %lld and %lld", s->min, s->max);
		sbuf_printf(&got, "%lld", v);
		add_err(L, cs, s->key, sbuf_str(&got), sbuf_str(&msg));
		sbuf_free(&msg);
		sbuf_free(&got);
		return false;
	}
	*FIELD(L->c, s, int) = (int)v;
	return true;
}

static bool set_string(struct loader *L, const struct cfg_setting *s, const config_setting_t *cs)
{
	const char *v = config_setting_get_string(cs), *msg = NULL;

	if (cs->type != CONFIG_TYPE_STRING || !v) {
		value_err(L, s, cs, "must be a string");
		return false;
	}
	if (s->type == CFG_T_ENUM) {
		for (int i = 0; s->values[i]; i++) {
			if (strcmp(s->values[i], v) == 0) {
				*FIELD(L->c, s, int) = i;
				return true;
			}
		}
		struct sbuf b = { 0 }, m = { 0 };
		sbuf_printf(&m, "must be one of: %s", enum_names(s, &b));
		value_err(L, s, cs, sbuf_str(&m));
		sbuf_free(&b);
		sbuf_free(&m);
		return false;
	}
	/* "" is a value only where it is the default (monitor.snmp_context) */
	if (!*v && s->type != CFG_T_IFNAME && !(s->def && strcmp(s->def, "\"\"") == 0))
		msg = "must not be empty";
	else if (s->check)
		msg = s->check(v);
	if (msg) {
		value_err(L, s, cs, msg);
		return false;
	}
	char **field = FIELD(L->c, s, char *);
	free(*field);
	*field = s->type == CFG_T_PATH ? cfg_path_resolve(L->dir, v) : xstrdup(v);
	return true;
}

/* Store cs as the value of s, or add the error; records where it was
 * written unless it is a default. */
static void set_value(struct loader *L, const struct cfg_setting *s, const config_setting_t *cs)
{
	size_t i = cfg_setting_index(s);
	bool ok;

	if (!L->defaults) {
		int line;
		L->c->has |= BIT(i);
		L->c->src[i] = setting_where(L, cs, &line);
		L->c->line[i] = (unsigned short)(line > 65535 ? 65535 : line < 0 ? 0 : line);
	}
	switch (s->type) {
	case CFG_T_BOOL:
		ok = cs->type == CONFIG_TYPE_BOOL;
		if (ok)
			*FIELD(L->c, s, bool) = config_setting_get_bool(cs);
		else
			value_err(L, s, cs, "must be a boolean (true or false)");
		break;
	case CFG_T_INT:
		ok = set_int(L, s, cs);
		break;
	case CFG_T_STRLIST:
		ok = set_list(L, s, cs);
		break;
	default:
		ok = set_string(L, s, cs);
		break;
	}
	if (!ok)
		L->bad |= BIT(i);
}

/* ---- the tree ------------------------------------------------------- */

static bool is_group(const char *name)
{
	size_t n = strlen(name);

	for (size_t i = 0; i < cfg_n_settings; i++)
		if (strncmp(cfg_settings[i].key, name, n) == 0 && cfg_settings[i].key[n] == '.')
			return true;
	return false;
}

static void mark_group_bad(struct loader *L, const char *name)
{
	size_t n = strlen(name);

	for (size_t i = 0; i < cfg_n_settings; i++)
		if (strncmp(cfg_settings[i].key, name, n) == 0 && cfg_settings[i].key[n] == '.')
			L->bad |= BIT(i);
}

static void walk(struct loader *L, const config_setting_t *grp, const char *prefix)
{
	int n = config_setting_length(grp);

	for (int i = 0; i < n; i++) {
		const config_setting_t *cs = config_setting_get_elem(grp, (unsigned)i);
		struct sbuf key = { 0 };
		const struct cfg_setting *s;

		sbuf_printf(&key, "%s%s%s", prefix ? prefix : "", prefix ? "." : "", cs->name);
		s = cfg_setting_find(sbuf_str(&key));
		if (s) {
			set_value(L, s, cs);
		} else if (!prefix && is_group(cs->name)) {
			if (cs->type == CONFIG_TYPE_GROUP) {
				walk(L, cs, cs->name);
			} else {
				struct sbuf v = { 0 };
				written(cs, false, &v);
				add_err(L, cs, cs->name, sbuf_str(&v), "must be a group");
				mark_group_bad(L, cs->name);
				sbuf_free(&v);
			}
		} else {
			const char *hint = cfg_suggest_key(sbuf_str(&key));
			struct sbuf msg = { 0 };
			sbuf_add(&msg, "unknown setting");
			if (hint)
				sbuf_printf(&msg, " (did you mean \"%s\"?)", hint);
			add_err(L, cs, sbuf_str(&key), NULL, sbuf_str(&msg));
			sbuf_free(&msg);
		}
		sbuf_free(&key);
	}
}

/* Defaults go through the same set_value as the user's values: one
 * document "d<row> = <default>;" for every row that was not written. */
static void fill_defaults(struct loader *L)
{
	struct sbuf doc = { 0 };
	config_t lc;

	for (size_t i = 0; i < cfg_n_settings; i++)
		if (cfg_settings[i].def && !(L->c->has & BIT(i)) && !(L->bad & BIT(i)))
			sbuf_printf(&doc, "d%zu = %s;\n", i, cfg_settings[i].def);
	config_init(&lc);
	if (!config_read_string(&lc, sbuf_str(&doc))) {
		/* a broken table: tests catch it, --check shows it */
		cfg_errors_add(L->errs, L->c->path, 0, NULL, NULL, "internal error: bad default (%s)",
			       config_error_text(&lc));
		goto out;
	}
	L->defaults = true;
	const config_setting_t *root = config_root_setting(&lc);
	for (int i = 0; i < config_setting_length(root); i++) {
		const config_setting_t *cs = config_setting_get_elem(root, (unsigned)i);
		set_value(L, &cfg_settings[strtoul(cs->name + 1, NULL, 10)], cs);
	}
	L->defaults = false;
out:
	config_destroy(&lc);
	sbuf_free(&doc);
}

/* ---- required keys, meaningless keys, cross-field rules -------------- */

static bool req_known(const struct loader *L, enum cfg_required r)
{
	size_t mode = cfg_setting_index(cfg_setting_find("mode"));
	size_t tr = cfg_setting_index(cfg_setting_find("transport"));
	bool mode_ok = (L->c->has & BIT(mode)) && !(L->bad & BIT(mode)), tr_ok = !(L->bad & BIT(tr));

	switch (r) {
	case CFG_REQ_SERVER:
	case CFG_REQ_CLIENT: return mode_ok;
	case CFG_REQ_TUN: return tr_ok;
	case CFG_REQ_FORWARD_CLIENT:
	case CFG_REQ_FORWARD_SERVER:
	case CFG_REQ_TUN_SERVER: return mode_ok && tr_ok;
	default: return true;
	}
}

/* An error about setting i of c where it was written (or the main file). */
static void row_err(struct loader *L, size_t i, bool with_value, const char *msg, const char *arg)
{
	struct config *c = L->c;
	struct sbuf v = { 0 };
	bool has = c->has & BIT(i);

	if (with_value)
		cfg_value_format(c, &cfg_settings[i], false, &v);
	cfg_errors_add(L->errs, has ? c->src[i] : c->path, has ? c->line[i] : 0, cfg_settings[i].key,
		       with_value ? sbuf_str(&v) : NULL, "%s%s", msg, arg);
	sbuf_free(&v);
}

/* Whether setting i has a value: strings when not NULL; an int, bool or
 * enum (always "set" in memory) only when written or defaulted. */
static bool has_value(const struct config *c, const struct cfg_setting *s, size_t i)
{
	switch (s->type) {
	case CFG_T_BOOL:
	case CFG_T_INT:
	case CFG_T_ENUM:
		return s->def || (c->has & BIT(i));
	default:
		return cfg_value_is_set(c, s);
	}
}

static void check_required(struct loader *L)
{
	for (size_t i = 0; i < cfg_n_settings; i++) {
		const struct cfg_setting *s = &cfg_settings[i];
		bool set = has_value(L->c, s, i);

		if (L->bad & BIT(i))
			continue;
		if (s->required == CFG_REQ_ALWAYS && !set)
			row_err(L, i, false, "is required", "");
		else if (s->required > CFG_REQ_ALWAYS && !set && req_known(L, s->required) &&
			 cfg_required_holds(L->c, s->required))
			row_err(L, i, false, "is required when ", cfg_required_text(s->required));
		if (s->scope != CFG_REQ_NEVER && (L->c->has & BIT(i)) && req_known(L, s->scope) &&
		    !cfg_required_holds(L->c, s->scope))
			row_err(L, i, true, "is only used when ", cfg_required_text(s->scope));
	}
}

static bool is_wildcard(const char *h)
{
	return strcmp(h, "0.0.0.0") == 0 || strcmp(h, "::") == 0;
}

static bool is_loopback(const char *h)
{
	return strcasecmp(h, "localhost") == 0 || strncmp(h, "127.", 4) == 0 || strcmp(h, "::1") == 0;
}

/* Whether connecting to dest reaches the listener at listen. */
static bool same_endpoint(const char *listen, const char *dest)
{
	char lh[256], dh[256];
	int lp, dp;

	if (!listen || !dest || cfg_hostport_split(listen, lh, sizeof(lh), &lp) < 0 ||
	    cfg_hostport_split(dest, dh, sizeof(dh), &dp) < 0 || lp != dp)
		return false;
	return strcasecmp(lh, dh) == 0 || (is_wildcard(lh) && is_loopback(dh));
}

static size_t idx(const char *key)
{
	return cfg_setting_index(cfg_setting_find(key));
}

static void check_cross(struct loader *L)
{
	struct config *c = L->c;
	char buf[256];

	/* The rows' own rules, when the row and mode/transport parsed. */
	for (size_t i = 0; i < cfg_n_settings; i++) {
		const struct cfg_setting *s = &cfg_settings[i];
		const char *msg;
		if (!s->cross || (L->bad & BIT(i)) || !req_known(L, s->scope) ||
		    !cfg_required_holds(c, s->scope))
			continue;
		if ((msg = s->cross(c, buf, sizeof(buf))) != NULL)
			row_err(L, i, true, msg, "");
	}

	/* The kernel removes IPv6 addresses from a link whose MTU drops below
	 * the IPv6 minimum: the tunnel would silently die. */
	if (req_known(L, CFG_REQ_TUN) && c->transport == CFG_TRANSPORT_TUN && c->network.address &&
	    strchr(c->network.address, ':') && c->network.mtu < 1280 &&
	    !(L->bad & (BIT(idx("network.address")) | BIT(idx("network.mtu")))))
		row_err(L, idx("network.mtu"), true, "must be at least 1280 when network.address is ",
			"IPv6");
	if (!req_known(L, CFG_REQ_FORWARD_SERVER))
		return;
	if (cfg_required_holds(c, CFG_REQ_FORWARD_SERVER) && same_endpoint(c->tunnel.listen, c->forward.target))
		row_err(L, idx("forward.target"), true, "must differ from ", "tunnel.listen");
	if (cfg_required_holds(c, CFG_REQ_FORWARD_CLIENT) && same_endpoint(c->forward.listen, c->tunnel.server))
		row_err(L, idx("forward.listen"), true, "must differ from ", "tunnel.server");
}

/* tunnel.server_name defaults to the host part of tunnel.server. */
static void derive(struct loader *L)
{
	struct config *c = L->c;
	char host[256];
	int port;

	if ((L->bad & BIT(idx("mode"))) || c->mode != CFG_MODE_CLIENT || c->tunnel.server_name ||
	    !c->tunnel.server || (L->bad & BIT(idx("tunnel.server_name"))))
		return;
	if (cfg_hostport_split(c->tunnel.server, host, sizeof(host), &port) == 0)
		c->tunnel.server_name = xstrdup(host);
}

/* ---- the hash ------------------------------------------------------- */

static void add_blob(struct sbuf *b, const void *data, size_t len)
{
	unsigned char n[8];

	for (int i = 0; i < 8; i++)
		n[i] = (unsigned char)((uint64_t)len >> (8 * i));
	sbuf_addn(b, (const char *)n, sizeof(n));
	if (len)
		sbuf_addn(b, data, len);
}

/* SHA-256 of "key=value\n" for every row in table order (raw values;
 * a secret as the hex SHA-256 of its value; nothing after '=' when
 * unset), then the length-prefixed bytes of every named file.  Included
 * files' bytes are left out on purpose: their values are already in the
 * rows, and a comment edit there must not look like a change. */
static void compute_hash(struct config *c)
{
	struct sbuf b = { 0 }, v = { 0 };

	for (size_t i = 0; i < cfg_n_settings; i++) {
		const struct cfg_setting *s = &cfg_settings[i];
		sbuf_printf(&b, "%s=", s->key);
		if (cfg_value_is_set(c, s) && (s->flags & CFG_F_SECRET)) {
			uint8_t h[SHA256_LEN];
			char hex[2 * SHA256_LEN + 1];
			const char *secret = *FIELD(c, s, char *);
			sha256(secret, strlen(secret), h);
			sha256_hex(h, hex);
			sbuf_add(&b, hex);
		} else {
			sbuf_reset(&v);
			cfg_value_format(c, s, true, &v);
			sbuf_add(&b, sbuf_str(&v));
		}
		sbuf_add(&b, "\n");
	}
	for (size_t i = 0; i < cfg_n_settings; i++) {
		const struct cfg_blob *f = cfg_file_blob(c, &cfg_settings[i]);
		if (f)
			add_blob(&b, f->data, f->len);
	}
	sha256(b.s, b.len, c->hash);
	sbuf_free(&v);
	sbuf_free(&b);
}

/* ---- life cycle ----------------------------------------------------- */

/* Secrets (the key password, the private key's bytes, and the text of
 * every file of a configuration that has a password) are overwritten
 * before their memory is given back. */
static void cfg_free(struct config *c)
{
	if (!c)
		return;
	bool secret = c->tunnel.key_password != NULL;
	for (size_t i = 0; i < cfg_n_settings; i++) {
		const struct cfg_setting *s = &cfg_settings[i];
		if (s->type == CFG_T_STRLIST) {
			struct cfg_strlist *l = FIELD(c, s, struct cfg_strlist);
			for (size_t k = 0; k < l->n; k++)
				free(l->v[k]);
			free(l->v);
		} else if (s->type != CFG_T_BOOL && s->type != CFG_T_INT && s->type != CFG_T_ENUM) {
			char *v = *FIELD(c, s, char *);
			if (s->flags & CFG_F_SECRET)
				free_wiped(v, v ? strlen(v) : 0);
			else
				free(v);
		}
	}
	for (size_t k = 0; k < c->n_includes; k++) {
		free(c->includes[k].path);
		if (secret)
			free_wiped(c->includes[k].blob.data, c->includes[k].blob.len);
		else
			free(c->includes[k].blob.data);
	}
	free(c->includes);
	free(c->cert.data);
	free_wiped(c->key.data, c->key.len);
	free(c->ca.data);
	free(c->crl.data);
	cfg_errors_free(&c->warnings);
	if (secret)
		free_wiped(c->text, c->text_len);
	else
		free(c->text);
	free(c->path);
	free(c);
}

struct config *cfg_ref(struct config *c)
{
	if (c)
		__atomic_add_fetch(&c->refs, 1, __ATOMIC_RELAXED);
	return c;
}

void cfg_unref(struct config *c)
{
	if (c && __atomic_sub_fetch(&c->refs, 1, __ATOMIC_ACQ_REL) == 0)
		cfg_free(c);
}

static int parse_error(struct loader *L, const config_t *lc)
{
	int line;
	const char *file = cfg_text_where(&L->text, L->c, config_error_line(lc), &line);

	cfg_errors_add(L->errs, file, line, NULL, NULL, "%s",
		       config_error_text(lc) ? config_error_text(lc) : "syntax error");
	return CFG_ERR_PARSE;
}

/* The configuration file's bytes into c->text: given, or read. */
static enum cfg_status read_main(struct loader *L, const void *text, size_t len)
{
	struct config *c = L->c;
	struct sbuf why = { 0 };
	int r = 0;

	if (text && len <= CFG_FILE_MAX) {
		c->text = xmalloc(len + 1);
		memcpy(c->text, text, len);
		c->text[len] = '\0';
		c->text_len = len;
		return CFG_OK;
	}
	if (text)
		r = READ_E_TOOBIG;
	else
		r = read_file(c->path, CFG_FILE_MAX, &c->text, &c->text_len);
	if (r == 0)
		return CFG_OK;
	read_file_error(r, CFG_FILE_MAX, &why);
	cfg_errors_add(L->errs, c->path, 0, NULL, NULL, "%s%s", read_file_refused(r) ? "the configuration file " : "",
		       sbuf_str(&why));
	sbuf_free(&why);
	return read_file_refused(r) ? CFG_ERR_INVALID : CFG_ERR_IO;
}

static enum cfg_status load(const char *path, const void *text, size_t len, bool files, struct config **out,
			    struct cfg_errors *errs)
{
	enum cfg_status ret = CFG_ERR_IO;
	struct loader L = { .errs = errs };
	size_t n0 = errs->n;
	struct sbuf skeleton = { 0 };
	config_t lc;
	bool lc_live = false;

	*out = NULL;
	L.c = xcalloc(1, sizeof(*L.c));
	L.c->refs = 1;
	L.c->path = xstrdup(path);
	L.dir = dir_of(path);
	ret = read_main(&L, text, len);
	if (ret != CFG_OK)
		goto out;
	ret = cfg_text_expand(L.c, L.dir, &L.text, errs);
	if (ret != CFG_OK)
		goto out;

	config_init(&lc);
	lc_live = true;
	/* Every @include was expanded above: libconfig must never open a
	 * file itself (see cfgtext.c).  Should a directive ever reach it,
	 * names under /dev/null fail to open (ENOTDIR) instead. */
	config_set_include_dir(&lc, "/dev/null");
	/* The syntax first, on a text without strings (cfg_text_skeleton):
	 * a syntax error found with the strings in place leaks them. */
	ret = CFG_ERR_PARSE;
	if (cfg_text_skeleton(&L.text, L.c, &skeleton, errs) < 0)
		goto out;
	if (!config_read_string(&lc, sbuf_str(&skeleton))) {
		ret = parse_error(&L, &lc);
		goto out;
	}
	config_destroy(&lc);
	config_init(&lc);
	config_set_include_dir(&lc, "/dev/null");
	if (!config_read_string(&lc, sbuf_str(&L.text.text))) {
		ret = parse_error(&L, &lc);
		goto out;
	}

	ret = CFG_ERR_INVALID;
	walk(&L, config_root_setting(&lc), NULL);
	fill_defaults(&L);
	derive(&L);
	check_required(&L);
	check_cross(&L);
	config_destroy(&lc);
	lc_live = false;
	if (files)
		cfg_check_files(L.c, text != NULL, errs);
	if (errs->n > n0)
		goto out;
	compute_hash(L.c);
	*out = L.c;
	L.c = NULL;
	ret = CFG_OK;
out:
	if (lc_live)
		config_destroy(&lc);
	cfg_free(L.c);
	cfg_text_free(&L.text);
	sbuf_wipe(&skeleton);
	free(L.dir);
	return ret;
}

enum cfg_status cfg_load(const char *path, const void *text, size_t len, struct config **out,
			 struct cfg_errors *errs)
{
	return load(path, text, len, true, out, errs);
}

enum cfg_status cfg_parse(const char *path, const void *text, size_t len, struct config **out,
			  struct cfg_errors *errs)
{
	return load(path, text, len, false, out, errs);
}

/* ---- comparing snapshots -------------------------------------------- */

int cfg_check_change(const struct config *running, const struct config *candidate,
		     struct cfg_errors *errs)
{
	int n = 0;
	struct sbuf v = { 0 };

	for (size_t i = 0; running && candidate && i < cfg_n_settings; i++) {
		const struct cfg_setting *s = &cfg_settings[i];
		bool has = candidate->has & BIT(i);

		if (!(s->flags & CFG_F_RESTART) || cfg_value_equal(running, candidate, s))
			continue;
		sbuf_reset(&v);
		cfg_value_format(candidate, s, false, &v);
		cfg_errors_add(errs, has ? candidate->src[i] : candidate->path, has ? candidate->line[i] : 0,
			       s->key, sbuf_str(&v), "cannot change while running (restart required)");
		n++;
	}
	sbuf_free(&v);
	return n;
}

const struct cfg_blob *cfg_file_blob(const struct config *c, const struct cfg_setting *s)
{
	if (s->offset == offsetof(struct config, tunnel.cert_file))
		return &c->cert;
	if (s->offset == offsetof(struct config, tunnel.key_file))
		return &c->key;
	if (s->offset == offsetof(struct config, tunnel.ca_file))
		return &c->ca;
	if (s->offset == offsetof(struct config, tunnel.crl_file))
		return &c->crl;
	return NULL;
}

static bool blob_equal(const struct cfg_blob *a, const struct cfg_blob *b)
{
	return a->len == b->len && (a->len == 0 || memcmp(a->data, b->data, a->len) == 0);
}

/* Whether setting s differs between a and b, by value or named file's content. */
static bool setting_changed(const struct config *a, const struct config *b, const struct cfg_setting *s,
			    bool *value)
{
	const struct cfg_blob *ba = cfg_file_blob(a, s), *bb = cfg_file_blob(b, s);

	*value = !cfg_value_equal(a, b, s);
	return *value || (ba && bb && !blob_equal(ba, bb));
}

unsigned cfg_changed_components(const struct config *a, const struct config *b)
{
	unsigned mask = 0;
	bool value;

	for (size_t i = 0; i < cfg_n_settings; i++)
		if (!a || setting_changed(a, b, &cfg_settings[i], &value))
			mask |= cfg_settings[i].components;
	return mask;
}

int cfg_diff(const struct config *a, const struct config *b, struct sbuf *audit, struct sbuf *keys)
{
	int n = 0;

	for (size_t i = 0; a && b && i < cfg_n_settings; i++) {
		const struct cfg_setting *s = &cfg_settings[i];
		bool value;

		if (!setting_changed(a, b, s, &value))
			continue;
		if (audit) {
			if (n)
				sbuf_add(audit, ",");
			sbuf_add(audit, s->key);
			if (value) {
				sbuf_add(audit, ":");
				cfg_value_text(a, s, audit);
				sbuf_add(audit, "->");
				cfg_value_text(b, s, audit);
			} else {
				sbuf_add(audit, "(content)");
			}
		}
		if (keys)
			sbuf_printf(keys, "%s%s", n ? "," : "", s->key);
		n++;
	}
	return n;
}
