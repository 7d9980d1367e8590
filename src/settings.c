/* SPDX-License-Identifier: MIT */
/*
 * settings.c - the one settings table and everything that only needs the
 * table: lookup, "did you mean", value formatting and comparison,
 * --print-config and the docs table (the rows' value checks are
 * cfgcheck.c's).
 *
 * Every key the daemon knows is a row of cfg_settings[]; nothing else in
 * the program may hard-code a key's type, bounds, default or flags.  This
 * file never prints anything but what cfg_print/cfg_print_schema are
 * asked to print, and never shows a secret unless asked for the raw value.
 */

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "pki.h"

#define MASK "********"

/* ---- the table ------------------------------------------------------ */

static const char *const mode_values[] = { "server", "client", NULL };
static const char *const transport_values[] = { "forward", "tun", NULL };
static const char *const tls_values[] = { "1.2", "1.3", NULL };
/* enum cfg_trust's and enum cfg_crl_expired's order */
static const char *const trust_values[] = { "chain", "partial", NULL };
static const char *const crl_expired_values[] = { "warn", "refuse", NULL };
/* enum cfg_snmp_write's order */
static const char *const snmp_write_values[] = { "rates", "reload", "all", NULL };
/* enum log_level's order */
static const char *const level_values[] = { "error", "warning", "info", "debug", NULL };
/* enum cfg_start_invalid's order */
static const char *const start_invalid_values[] = { "refuse", "last-good", NULL };

#define AT(field) offsetof(struct config, field)

const struct cfg_setting cfg_settings[] = {
	{ .key = "mode", .type = CFG_T_ENUM, .offset = AT(mode),
	  .values = mode_values, .flags = CFG_F_RESTART, .required = CFG_REQ_ALWAYS,
	  .components = CFG_C_DATAPLANE,
	  .doc = "server accepts tunnels, client opens one" },
	{ .key = "transport", .type = CFG_T_ENUM, .offset = AT(transport),
	  .values = transport_values, .def = "\"forward\"", .flags = CFG_F_RESTART,
	  .components = CFG_C_DATAPLANE,
	  .doc = "forward: TCP streams through the tunnel; tun: a layer-3 TUN device" },
	{ .key = "user", .type = CFG_T_STRING, .offset = AT(user),
	  .flags = CFG_F_RESTART, .check = cfg_check_user, .components = CFG_C_ENGINE,
	  .doc = "after startup, run as this user with only the capabilities the transport needs "
		 "(--user overrides it); unset: stay who started the daemon" },

	{ .key = "tunnel.listen", .type = CFG_T_HOSTPORT, .offset = AT(tunnel.listen),
	  .required = CFG_REQ_SERVER, .scope = CFG_REQ_SERVER, .check = cfg_check_hostport,
	  .components = CFG_C_LISTEN,
	  .doc = "address the server accepts tunnel connections on" },
	{ .key = "tunnel.server", .type = CFG_T_HOSTPORT, .offset = AT(tunnel.server),
	  .required = CFG_REQ_CLIENT, .scope = CFG_REQ_CLIENT, .check = cfg_check_hostport,
	  .components = CFG_C_RESOLVE | CFG_C_DATAPLANE,
	  .doc = "server the client connects to" },
	{ .key = "tunnel.server_name", .type = CFG_T_STRING, .offset = AT(tunnel.server_name),
	  .scope = CFG_REQ_CLIENT, .check = cfg_check_server_name,
	  .components = CFG_C_TLS,
	  .doc = "name the server certificate must carry (a DNS or IP SAN; the CN only without a DNS SAN, as hostname verification); sent as SNI when it is a DNS name" },
	{ .key = "tunnel.cert_file", .type = CFG_T_PATH, .offset = AT(tunnel.cert_file),
	  .flags = CFG_F_FILE, .required = CFG_REQ_ALWAYS,
	  .components = CFG_C_TLS,
	  .doc = "this end's certificate (PEM); relative paths are taken from the configuration file's directory" },
	{ .key = "tunnel.key_file", .type = CFG_T_PATH, .offset = AT(tunnel.key_file),
	  .flags = CFG_F_FILE, .required = CFG_REQ_ALWAYS,
	  .components = CFG_C_TLS,
	  .doc = "its private key (PEM); must not be readable by others nor writable by group" },
	{ .key = "tunnel.ca_file", .type = CFG_T_PATH, .offset = AT(tunnel.ca_file),
	  .flags = CFG_F_FILE, .required = CFG_REQ_ALWAYS,
	  .components = CFG_C_TLS,
	  .doc = "CA certificate(s) the peer's certificate must be signed by (PEM)" },
	{ .key = "tunnel.crl_file", .type = CFG_T_PATH, .offset = AT(tunnel.crl_file),
	  .flags = CFG_F_FILE, .components = CFG_C_TLS,
	  .doc = "certificate revocation lists (PEM, one or more), each signed by a CA of ca_file; "
		 "checked for the whole chain of every peer" },
	{ .key = "tunnel.crl_expired", .type = CFG_T_ENUM, .offset = AT(tunnel.crl_expired),
	  .values = crl_expired_values, .def = "\"warn\"", .components = CFG_C_TLS,
	  .doc = "a CRL past its nextUpdate: warn (it still applies, and a warning is logged) or refuse "
		 "(the configuration is invalid, every peer is refused)" },
	{ .key = "tunnel.trust", .type = CFG_T_ENUM, .offset = AT(tunnel.trust),
	  .values = trust_values, .def = "\"chain\"", .components = CFG_C_TLS,
	  .doc = "chain: a peer's chain must end at a root in ca_file; partial: any certificate in ca_file "
		 "is an anchor (trust one intermediate only)" },
	{ .key = "tunnel.expiry_warn_days", .type = CFG_T_INT, .offset = AT(tunnel.expiry_warn_days),
	  .min = 0, .max = 3650, .def = "30", .flags = CFG_F_ZERO_OFF, .components = CFG_C_ENGINE,
	  .doc = "warn when the own, a CA or a peer certificate expires within this many days" },
	{ .key = "tunnel.key_password", .type = CFG_T_STRING, .offset = AT(tunnel.key_password),
	  .flags = CFG_F_SECRET,
	  .components = CFG_C_TLS,
	  .doc = "password of an encrypted key_file (the daemon never prompts)" },
	{ .key = "tunnel.allowed_peers", .type = CFG_T_STRLIST, .offset = AT(tunnel.allowed_peers),
	  .def = "[ ]", .check = pki_name_check, .components = CFG_C_TLS,
	  .doc = "peer certificates let in, each entry NAME (as hostname verification: DNS SANs, the CN "
		 "only without one), dns:, ip:, cn:, email:, sha256: (certificate) or spki: (key); "
		 "empty: any certificate ca_file verifies" },
	{ .key = "tunnel.peers", .type = CFG_T_STRLIST, .offset = AT(tunnel.peers),
	  .def = "[ ]", .scope = CFG_REQ_TUN_SERVER, .check = cfg_check_peer, .cross = cfg_cross_peers,
	  .components = CFG_C_DATAPLANE,
	  .doc = "tun server: \"NAME=ADDRESS\" entries; a client whose certificate NAME matches (as an "
		 "allowed_peers entry) gets ADDRESS and no other; empty: any free address of the subnet" },
	{ .key = "tunnel.max_clients", .type = CFG_T_INT, .offset = AT(tunnel.max_clients),
	  .min = 1, .max = 65535, .def = "10", .scope = CFG_REQ_SERVER,
	  .components = CFG_C_DATAPLANE,
	  .doc = "authenticated clients (peer identities) the server admits at once; "
		 "forward counts a client once however many streams it opens" },
	{ .key = "tunnel.max_pending", .type = CFG_T_INT, .offset = AT(tunnel.max_pending),
	  .min = 1, .max = 65535, .def = "512", .components = CFG_C_DATAPLANE,
	  .doc = "connections still in their TLS handshake (or HELLO) at once; when full, a server drops "
		 "the oldest (silent ones first), a client end lets newcomers wait" },
	{ .key = "tunnel.max_pending_per_source", .type = CFG_T_INT, .offset = AT(tunnel.max_pending_per_source),
	  .min = 1, .max = 65535, .def = "16", .scope = CFG_REQ_SERVER, .components = CFG_C_DATAPLANE,
	  .doc = "connections from one source address that have not said anything yet; "
		 "when full, its oldest silent one is dropped" },
	{ .key = "tunnel.handshake_timeout_ms", .type = CFG_T_INT, .offset = AT(tunnel.handshake_timeout_ms),
	  .min = 100, .max = 120000, .def = "5000",
	  .components = CFG_C_DATAPLANE,
	  .doc = "time a connection may stay pending (TCP connect, TLS handshake, HELLO), milliseconds" },
	{ .key = "tunnel.keepalive_s", .type = CFG_T_INT, .offset = AT(tunnel.keepalive_s),
	  .min = 0, .max = 3600, .def = "15", .flags = CFG_F_ZERO_OFF,
	  .components = CFG_C_DATAPLANE,
	  .doc = "idle seconds between keepalives; 0 turns them off" },
	{ .key = "tunnel.tls_min_version", .type = CFG_T_ENUM, .offset = AT(tunnel.tls_min_version),
	  .values = tls_values, .def = "\"1.3\"",
	  .components = CFG_C_TLS,
	  .doc = "oldest TLS version accepted" },
	{ .key = "tunnel.tls_groups", .type = CFG_T_STRING, .offset = AT(tunnel.tls_groups),
	  .def = "\"X25519:P-256:P-384\"", .check = cfg_check_tls_groups, .components = CFG_C_TLS,
	  .doc = "key-exchange groups offered and accepted, in order of preference" },
	{ .key = "tunnel.tls_ciphersuites", .type = CFG_T_STRING, .offset = AT(tunnel.tls_ciphersuites),
	  .def = "\"TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256\"",
	  .check = cfg_check_tls_ciphersuites, .components = CFG_C_TLS,
	  .doc = "TLS 1.3 cipher suites offered and accepted, the server's order deciding; new handshakes "
		 "use a change, open sessions keep theirs" },
	{ .key = "tunnel.tls_ciphers", .type = CFG_T_STRING, .offset = AT(tunnel.tls_ciphers),
	  .def = "\"ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:"
		 "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305\"",
	  .check = cfg_check_tls_ciphers, .components = CFG_C_TLS,
	  .doc = "TLS 1.2 ciphers (with tls_min_version = \"1.2\"), the server's order deciding; ECDHE with "
		 "AEAD only" },
	{ .key = "tunnel.upload_kbps", .type = CFG_T_INT, .offset = AT(tunnel.upload_kbps),
	  .min = 8, .max = 100000000, .def = "10000", .flags = CFG_F_SNMP_WRITABLE,
	  .components = CFG_C_DATAPLANE,
	  .doc = "upload rate limit, kbit/s (1 kbit = 1000 bit)" },
	{ .key = "tunnel.download_kbps", .type = CFG_T_INT, .offset = AT(tunnel.download_kbps),
	  .min = 8, .max = 100000000, .def = "10000", .flags = CFG_F_SNMP_WRITABLE,
	  .components = CFG_C_DATAPLANE,
	  .doc = "download rate limit, kbit/s (1 kbit = 1000 bit)" },

	{ .key = "throttle.enabled", .type = CFG_T_BOOL, .offset = AT(throttle.enabled),
	  .def = "false", .flags = CFG_F_SNMP_WRITABLE,
	  .components = CFG_C_DATAPLANE,
	  .doc = "apply the upload and download rate limits" },
	{ .key = "throttle.burst_ms", .type = CFG_T_INT, .offset = AT(throttle.burst_ms),
	  .min = 1, .max = 10000, .def = "100", .flags = CFG_F_SNMP_WRITABLE,
	  .components = CFG_C_DATAPLANE,
	  .doc = "token bucket depth, as this many milliseconds of the rate" },

	{ .key = "forward.listen", .type = CFG_T_HOSTPORT, .offset = AT(forward.listen),
	  .required = CFG_REQ_FORWARD_CLIENT, .scope = CFG_REQ_FORWARD_CLIENT, .check = cfg_check_hostport,
	  .components = CFG_C_LISTEN,
	  .doc = "local address the client accepts TCP connections on" },
	{ .key = "forward.target", .type = CFG_T_HOSTPORT, .offset = AT(forward.target),
	  .required = CFG_REQ_FORWARD_SERVER, .scope = CFG_REQ_FORWARD_SERVER, .check = cfg_check_hostport,
	  .components = CFG_C_RESOLVE | CFG_C_DATAPLANE,
	  .doc = "address the server connects each forwarded stream to" },
	{ .key = "forward.max_streams", .type = CFG_T_INT, .offset = AT(forward.max_streams),
	  .min = 1, .max = 65535, .def = "1024", .components = CFG_C_DATAPLANE,
	  .doc = "forwarded streams (TLS connections) open at once on this end; more are refused" },
	{ .key = "forward.idle_timeout_s", .type = CFG_T_INT, .offset = AT(forward.idle_timeout_s),
	  .min = 0, .max = 604800, .def = "0", .flags = CFG_F_ZERO_OFF, .components = CFG_C_DATAPLANE,
	  .doc = "close a forwarded stream after this many seconds without a byte either way; 0: never" },

	{ .key = "network.interface", .type = CFG_T_IFNAME, .offset = AT(network.interface),
	  .def = "\"tun0\"", .flags = CFG_F_RESTART, .scope = CFG_REQ_TUN, .check = cfg_check_ifname,
	  .components = CFG_C_TUN,
	  .doc = "name of the TUN device" },
	{ .key = "network.address", .type = CFG_T_CIDR, .offset = AT(network.address),
	  .flags = CFG_F_RESTART, .required = CFG_REQ_TUN, .scope = CFG_REQ_TUN, .check = cfg_check_cidr,
	  .components = CFG_C_TUN,
	  .doc = "address and prefix length of the TUN device" },
	{ .key = "network.mtu", .type = CFG_T_INT, .offset = AT(network.mtu),
	  .min = 576, .max = 9000, .def = "1500", .scope = CFG_REQ_TUN,
	  .components = CFG_C_TUN,
	  .doc = "MTU of the TUN device" },

	{ .key = "monitor.snmp_enabled", .type = CFG_T_BOOL, .offset = AT(monitor.snmp_enabled),
	  .def = "true",
	  .components = CFG_C_SNMP,
	  .doc = "run the AgentX subagent" },
	{ .key = "monitor.agentx_socket", .type = CFG_T_STRING, .offset = AT(monitor.agentx_socket),
	  .def = "\"/var/agentx/master\"", .flags = CFG_F_RESTART, .check = cfg_check_agentx,
	  .components = CFG_C_SNMP,
	  .doc = "the master agent's AgentX socket: a path or tcp:host:port" },
	{ .key = "monitor.agentx_ping_s", .type = CFG_T_INT, .offset = AT(monitor.agentx_ping_s),
	  .min = 1, .max = 3600, .def = "15",
	  .components = CFG_C_SNMP,
	  .doc = "seconds between AgentX pings (from the next (re)connect)" },
	{ .key = "monitor.notifications", .type = CFG_T_BOOL, .offset = AT(monitor.notifications),
	  .def = "true", .flags = CFG_F_SNMP_WRITABLE, .components = CFG_C_SNMP,
	  .doc = "send SNMP notifications (sssNotificationsEnabled)" },
	{ .key = "monitor.snmp_context", .type = CFG_T_STRING, .offset = AT(monitor.snmp_context),
	  .def = "\"\"", .check = cfg_check_context, .components = CFG_C_SNMP,
	  .doc = "the SNMP context the subtree is registered in (\"\": the default context); "
		 "one per daemon when several share one snmpd" },
	{ .key = "monitor.snmp_write", .type = CFG_T_ENUM, .offset = AT(monitor.snmp_write),
	  .values = snmp_write_values, .def = "\"rates\"", .components = CFG_C_SNMP,
	  .doc = "what SNMP SETs may change: rates (the throttle objects and sssNotificationsEnabled), "
		 "reload (also sssConfigReload), all (also sssConfigRollback)" },

	{ .key = "logging.level", .type = CFG_T_ENUM, .offset = AT(logging.level),
	  .values = level_values, .def = "\"info\"",
	  .components = CFG_C_LOGGING,
	  .doc = "least severe level logged" },

	{ .key = "reload.watch", .type = CFG_T_BOOL, .offset = AT(reload.watch),
	  .def = "true",
	  .components = CFG_C_WATCH,
	  .doc = "reload when the configuration or a file it names changes" },
	{ .key = "reload.debounce_ms", .type = CFG_T_INT, .offset = AT(reload.debounce_ms),
	  .min = 0, .max = 10000, .def = "100",
	  .components = CFG_C_WATCH,
	  .doc = "quiet time after a change before the file is loaded, milliseconds" },
	{ .key = "reload.history", .type = CFG_T_INT, .offset = AT(reload.history),
	  .min = 1, .max = 1024, .def = "16",
	  .components = CFG_C_ENGINE,
	  .doc = "applied versions kept for rollback" },
	{ .key = "reload.state_dir", .type = CFG_T_STRING, .offset = AT(reload.state_dir),
	  .def = "\"/var/lib/sssonector\"", .flags = CFG_F_RESTART, .check = cfg_check_state_dir, .components = CFG_C_ENGINE,
	  .doc = "where the version counter and the history survive restarts (one subdirectory "
		 "per configuration file)" },
	{ .key = "reload.start_invalid", .type = CFG_T_ENUM, .offset = AT(reload.start_invalid),
	  .values = start_invalid_values, .def = "\"last-good\"", .components = CFG_C_ENGINE,
	  .doc = "when the file is invalid at startup: refuse to start (exit 1), or start with the "
		 "last applied version from reload.state_dir" },
};

const size_t cfg_n_settings = sizeof(cfg_settings) / sizeof(cfg_settings[0]);

_Static_assert(sizeof(cfg_settings) / sizeof(cfg_settings[0]) <= 64,
	       "struct config's has/line/src arrays hold 64 settings");

/* ---- lookup --------------------------------------------------------- */

const struct cfg_setting *cfg_setting_find(const char *key)
{
	for (size_t i = 0; i < cfg_n_settings; i++)
		if (strcmp(cfg_settings[i].key, key) == 0)
			return &cfg_settings[i];
	return NULL;
}

size_t cfg_setting_index(const struct cfg_setting *s)
{
	return (size_t)(s - cfg_settings);
}

/* Optimal string alignment distance (Levenshtein plus transpositions),
 * case-insensitive; SIZE_MAX for strings too long to bother with. */
static size_t edit_distance(const char *a, const char *b)
{
	enum { MAXLEN = 64 };
	size_t la = strlen(a), lb = strlen(b);
	size_t d[MAXLEN + 1][MAXLEN + 1];

	if (la > MAXLEN || lb > MAXLEN)
		return SIZE_MAX;
	for (size_t i = 0; i <= la; i++)
		d[i][0] = i;
	for (size_t j = 0; j <= lb; j++)
		d[0][j] = j;
	for (size_t i = 1; i <= la; i++) {
		for (size_t j = 1; j <= lb; j++) {
			size_t cost = tolower((unsigned char)a[i - 1]) != tolower((unsigned char)b[j - 1]);
			size_t v = d[i - 1][j] + 1;
			if (d[i][j - 1] + 1 < v)
				v = d[i][j - 1] + 1;
			if (d[i - 1][j - 1] + cost < v)
				v = d[i - 1][j - 1] + cost;
			if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
			    d[i - 2][j - 2] + 1 < v)
				v = d[i - 2][j - 2] + 1;
			d[i][j] = v;
		}
	}
	return d[la][lb];
}

/* The groups of the table's keys, for suggestions ("tunel" -> "tunnel"). */
static const char *const group_names[] = {
	"tunnel", "throttle", "forward", "network", "monitor", "logging", "reload", NULL,
};

static void consider(const char *key, const char *cand, const char **best, size_t *best_d)
{
	size_t d = edit_distance(key, cand);

	if (d < *best_d) {
		*best_d = d;
		*best = cand;
	}
}

const char *cfg_suggest_key(const char *key)
{
	const char *best = NULL, *leaf_match = NULL, *prefix_match = NULL;
	size_t best_d = SIZE_MAX, len = strlen(key), leaf_hits = 0, prefix_hits = 0;
	const char *leaf = strrchr(key, '.');

	leaf = leaf ? leaf + 1 : key;
	for (size_t i = 0; i < cfg_n_settings; i++) {
		const char *k = cfg_settings[i].key, *dot = strchr(k, '.');
		consider(key, k, &best, &best_d);
		if (strncasecmp(k, key, len) == 0) {
			prefix_match = k;
			prefix_hits++;
		}
		if (strcasecmp(dot ? dot + 1 : k, leaf) == 0 && strcasecmp(k, key) != 0) {
			leaf_match = k;
			leaf_hits++;
		}
	}
	for (size_t i = 0; group_names[i]; i++)
		consider(key, group_names[i], &best, &best_d);
	/* Close: at most 1 edit for short names, 2 for longer ones, and never
	 * more than a third of the name. */
	size_t limit = len >= 6 ? 2 : 1;
	if (best && best_d <= limit && best_d * 3 <= len)
		return best;
	/* A name cut short ("reload.debounce" -> "reload.debounce_ms"). */
	if (prefix_hits == 1 && len >= 4)
		return prefix_match;
	/* The right name in the wrong group ("tunnel.mtu" -> "network.mtu"). */
	return leaf_hits == 1 ? leaf_match : NULL;
}

/* ---- values --------------------------------------------------------- */

#define FIELD(c, s, T) ((T *)(void *)((char *)(c) + (s)->offset))

bool cfg_value_is_set(const struct config *c, const struct cfg_setting *s)
{
	switch (s->type) {
	case CFG_T_STRING:
	case CFG_T_HOSTPORT:
	case CFG_T_PATH:
	case CFG_T_CIDR:
	case CFG_T_IFNAME:
		return *FIELD(c, s, char *) != NULL;
	default:
		return true;
	}
}

/* A string in libconfig syntax: quoted, with libconfig's escapes. */
static void add_quoted(struct sbuf *out, const char *v)
{
	sbuf_add(out, "\"");
	for (const unsigned char *p = (const unsigned char *)v; *p; p++) {
		switch (*p) {
		case '"': sbuf_add(out, "\\\""); break;
		case '\\': sbuf_add(out, "\\\\"); break;
		case '\n': sbuf_add(out, "\\n"); break;
		case '\r': sbuf_add(out, "\\r"); break;
		case '\t': sbuf_add(out, "\\t"); break;
		case '\f': sbuf_add(out, "\\f"); break;
		default:
			if (*p < 0x20 || *p == 0x7f)
				sbuf_printf(out, "\\x%02X", *p);
			else
				sbuf_addn(out, (const char *)p, 1);
		}
	}
	sbuf_add(out, "\"");
}

/* Shared by cfg_value_format (quoted, file syntax) and cfg_value_text. */
static void format_value(const struct config *c, const struct cfg_setting *s, bool raw, bool quoted,
			 struct sbuf *out)
{
	switch (s->type) {
	case CFG_T_BOOL:
		sbuf_add(out, *FIELD(c, s, bool) ? "true" : "false");
		return;
	case CFG_T_INT:
		sbuf_printf(out, "%d", *FIELD(c, s, int));
		return;
	case CFG_T_ENUM: {
		int i = *FIELD(c, s, int);
		const char *name = i >= 0 ? s->values[i] : "?";
		if (quoted)
			add_quoted(out, name);
		else
			sbuf_add(out, name);
		return;
	}
	case CFG_T_STRLIST: {
		const struct cfg_strlist *l = FIELD(c, s, struct cfg_strlist);
		sbuf_add(out, quoted ? "[ " : "[");
		for (size_t i = 0; i < l->n; i++) {
			if (i)
				sbuf_add(out, quoted ? ", " : ",");
			if (quoted)
				add_quoted(out, l->v[i]);
			else
				sbuf_add(out, l->v[i]);
		}
		sbuf_add(out, quoted ? (l->n ? " ]" : "]") : "]");
		return;
	}
	default: {
		const char *v = *FIELD(c, s, char *);
		if (!v)
			return;
		if ((s->flags & CFG_F_SECRET) && !raw)
			v = MASK;
		if (quoted)
			add_quoted(out, v);
		else
			sbuf_add(out, v);
		return;
	}
	}
}

void cfg_value_format(const struct config *c, const struct cfg_setting *s, bool raw, struct sbuf *out)
{
	format_value(c, s, raw, true, out);
}

void cfg_value_text(const struct config *c, const struct cfg_setting *s, struct sbuf *out)
{
	if (!cfg_value_is_set(c, s))
		sbuf_add(out, "(unset)");
	else
		format_value(c, s, false, false, out);
}

static bool str_equal(const char *a, const char *b)
{
	return a == b || (a && b && strcmp(a, b) == 0);
}

bool cfg_value_equal(const struct config *a, const struct config *b, const struct cfg_setting *s)
{
	switch (s->type) {
	case CFG_T_BOOL:
		return *FIELD(a, s, bool) == *FIELD(b, s, bool);
	case CFG_T_INT:
	case CFG_T_ENUM:
		return *FIELD(a, s, int) == *FIELD(b, s, int);
	case CFG_T_STRLIST: {
		const struct cfg_strlist *la = FIELD(a, s, struct cfg_strlist);
		const struct cfg_strlist *lb = FIELD(b, s, struct cfg_strlist);
		if (la->n != lb->n)
			return false;
		for (size_t i = 0; i < la->n; i++)
			if (strcmp(la->v[i], lb->v[i]) != 0)
				return false;
		return true;
	}
	default:
		return str_equal(*FIELD(a, s, char *), *FIELD(b, s, char *));
	}
}

/* ---- --print-config ------------------------------------------------- */

bool cfg_required_holds(const struct config *c, enum cfg_required r)
{
	switch (r) {
	case CFG_REQ_SERVER: return c->mode == CFG_MODE_SERVER;
	case CFG_REQ_CLIENT: return c->mode == CFG_MODE_CLIENT;
	case CFG_REQ_TUN: return c->transport == CFG_TRANSPORT_TUN;
	case CFG_REQ_FORWARD_CLIENT:
		return c->mode == CFG_MODE_CLIENT && c->transport == CFG_TRANSPORT_FORWARD;
	case CFG_REQ_FORWARD_SERVER:
		return c->mode == CFG_MODE_SERVER && c->transport == CFG_TRANSPORT_FORWARD;
	case CFG_REQ_TUN_SERVER:
		return c->mode == CFG_MODE_SERVER && c->transport == CFG_TRANSPORT_TUN;
	default: return true;
	}
}

const char *cfg_required_text(enum cfg_required r)
{
	switch (r) {
	case CFG_REQ_SERVER: return "mode = \"server\"";
	case CFG_REQ_CLIENT: return "mode = \"client\"";
	case CFG_REQ_TUN: return "transport = \"tun\"";
	case CFG_REQ_FORWARD_CLIENT: return "mode = \"client\" and transport = \"forward\"";
	case CFG_REQ_FORWARD_SERVER: return "mode = \"server\" and transport = \"forward\"";
	case CFG_REQ_TUN_SERVER: return "mode = \"server\" and transport = \"tun\"";
	default: return "";
	}
}

/* Printed in the order of the table: top-level keys, then one block per
 * group.  Settings that mean nothing for this mode and transport are
 * printed commented out, so that the output is complete and still loads
 * (written, they would be errors); settings without a value are left out. */
void cfg_print(const struct config *c, FILE *out)
{
	struct sbuf v = { 0 };
	const char *group = NULL;
	size_t group_len = 0;

	fprintf(out, "# sssonector effective configuration (sssonector --print-config)\n"
		     "# loaded from %s; defaults included, secrets masked.\n\n", c->path);
	for (size_t i = 0; i < cfg_n_settings; i++) {
		const struct cfg_setting *s = &cfg_settings[i];
		const char *dot = strchr(s->key, '.');
		size_t glen = dot ? (size_t)(dot - s->key) : 0;

		if (group && (glen != group_len || strncmp(s->key, group, glen) != 0)) {
			fprintf(out, "};\n");
			group = NULL;
		}
		if (dot && !group) {
			fprintf(out, "\n%.*s = {\n", (int)glen, s->key);
			group = s->key;
			group_len = glen;
		}
		if (!cfg_value_is_set(c, s))
			continue;
		sbuf_reset(&v);
		cfg_value_format(c, s, false, &v);
		const char *indent = dot ? "  " : "", *name = dot ? dot + 1 : s->key;
		if (cfg_required_holds(c, s->scope))
			fprintf(out, "%s%s = %s;\n", indent, name, sbuf_str(&v));
		else
			fprintf(out, "%s# %s = %s;  (only used when %s)\n", indent, name, sbuf_str(&v),
				cfg_required_text(s->scope));
	}
	if (group)
		fprintf(out, "};\n");
	sbuf_free(&v);
}

/* ---- the docs table ------------------------------------------------- */

static const char *type_name(const struct cfg_setting *s)
{
	switch (s->type) {
	case CFG_T_BOOL: return "bool";
	case CFG_T_INT: return "int";
	case CFG_T_ENUM: return "string";
	case CFG_T_HOSTPORT: return "host:port";
	case CFG_T_PATH: return "path";
	case CFG_T_STRLIST: return "list of strings";
	case CFG_T_CIDR: return "CIDR";
	case CFG_T_IFNAME: return "interface name";
	default: return "string";
	}
}

static void schema_range(const struct cfg_setting *s, FILE *out)
{
	switch (s->type) {
	case CFG_T_INT:
		if (s->flags & CFG_F_ZERO_OFF)
			fprintf(out, "0 (off), %lld..%lld", s->min + 1, s->max);
		else
			fprintf(out, "%lld..%lld", s->min, s->max);
		break;
	case CFG_T_ENUM:
		for (size_t i = 0; s->values[i]; i++)
			fprintf(out, "%s`%s`", i ? ", " : "", s->values[i]);
		break;
	case CFG_T_HOSTPORT: fputs("`host:port` or `[IPv6]:port`", out); break;
	case CFG_T_PATH: fputs("readable PEM file", out); break;
	case CFG_T_CIDR: fputs("`a.b.c.d/len` or `IPv6/len`", out); break;
	case CFG_T_IFNAME: fputs("1 to 15 characters, no `/`, `:` or whitespace", out); break;
	case CFG_T_STRLIST:
		fputs(s->check == cfg_check_peer ? "`NAME=ADDRESS`, NAME as an allowed_peers entry"
						 : "`NAME`, `dns:`, `ip:`, `cn:`, `email:`, `sha256:`, `spki:`",
		      out);
		break;
	case CFG_T_BOOL: fputs("`true`, `false`", out); break;
	default:
		if (s->check == cfg_check_server_name)
			fputs("DNS name or IP address", out);
		else if (s->check == cfg_check_agentx)
			fputs("`/path`, `unix:/path` or `tcp:host:port`", out);
		else if (s->check == cfg_check_tls_groups)
			fputs("`X25519`, `X448`, `P-256`, `P-384`, `P-521`, joined by `:`", out);
		else if (s->check == cfg_check_tls_ciphersuites)
			fputs("TLS 1.3 suite names (`TLS_AES_256_GCM_SHA384`...) that OpenSSL has, joined by `:`", out);
		else if (s->check == cfg_check_tls_ciphers)
			fputs("OpenSSL TLS 1.2 cipher names or aliases, ECDHE and AEAD only, joined by `:`", out);
		else if (s->check == cfg_check_user)
			fputs("a user name", out);
		else if (s->check == cfg_check_state_dir)
			fputs("absolute path", out);
		break;
	}
}

static void schema_default(const struct cfg_setting *s, FILE *out)
{
	if (s->def) {
		/* shown without libconfig's quotes, as the docs write values */
		size_t n = strlen(s->def);
		if (n >= 2 && s->def[0] == '"')
			fprintf(out, "`%.*s`", (int)(n - 2), s->def + 1);
		else
			fprintf(out, "`%s`", s->def);
	} else if (s->required == CFG_REQ_ALWAYS) {
		fputs("— (required)", out);
	} else if (s->required != CFG_REQ_NEVER) {
		fprintf(out, "required when %s", cfg_required_text(s->required));
	} else if (s->check == cfg_check_server_name) {
		fputs("host part of `tunnel.server`", out);
	} else {
		fputs("unset", out);
	}
}

/* Who reacts to a change of s, for the docs table. */
static void schema_components(const struct cfg_setting *s, FILE *out)
{
	static const char *const names[] = { "TLS context", "listener", "resolver", "data plane",
					     "TUN device", "logging", "file watch", "SNMP", "engine" };
	bool first = true;

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (!(s->components & (1u << i)))
			continue;
		fprintf(out, "%s%s", first ? "" : ", ", names[i]);
		first = false;
	}
}

/* The cells of row s, in Markdown (code in backticks). */
static void schema_cells(const struct cfg_setting *s, char **type, char **def, char **range, char **doc)
{
	size_t n;
	FILE *f;

	f = open_memstream(type, &n);
	fprintf(f, "%s%s", type_name(s), (s->flags & CFG_F_SECRET) ? ", **secret**" : "");
	fclose(f);
	f = open_memstream(def, &n);
	schema_default(s, f);
	fclose(f);
	f = open_memstream(range, &n);
	schema_range(s, f);
	fclose(f);
	f = open_memstream(doc, &n);
	fputs(s->doc, f);
	if (s->scope != CFG_REQ_NEVER && s->scope != s->required)
		fprintf(f, " (only used when %s)", cfg_required_text(s->scope));
	fclose(f);
}

void cfg_print_schema(FILE *out)
{
	fputs("| key | type | default | range / values | change | applied by | description |\n"
	      "|---|---|---|---|---|---|---|\n", out);
	for (size_t i = 0; i < cfg_n_settings; i++) {
		const struct cfg_setting *s = &cfg_settings[i];
		char *type, *def, *range, *doc;

		schema_cells(s, &type, &def, &range, &doc);
		fprintf(out, "| `%s` | %s | %s | %s | %s | ", s->key, type, def, range,
			(s->flags & CFG_F_RESTART) ? "restart" : "hot");
		schema_components(s, out);
		fprintf(out, " | %s |\n", doc);
		free(type);
		free(def);
		free(range);
		free(doc);
	}
	fputs(".ad b\n", out);
}

/* Markdown cell text as roff: `code` and **strong** in bold, roff's
 * special characters escaped; a colon inside a word may end a line (a
 * long colon-separated list is one word otherwise). */
static void roff_text(FILE *out, const char *md)
{
	bool bold = false;

	for (const char *p = md; *p; p++) {
		if (*p == '`' || (p[0] == '*' && p[1] == '*')) {
			fputs(bold ? "\\fR" : "\\fB", out);
			bold = !bold;
			if (*p == '*')
				p++;
		} else if (*p == '\\') {
			fputs("\\e", out);
		} else if (*p == '-') {
			fputs("\\-", out);
		} else if (*p == ':' && p[1] && p[1] != ' ' && p > md && p[-1] != ' ') {
			fputs(":\\:", out);
		} else if (!strncmp(p, "\u2014", 3)) {
			fputs("\\(em", out);
			p += 2;
		} else {
			fputc(*p, out);
		}
	}
	if (bold)
		fputs("\\fR", out);
}

void cfg_print_schema_man(FILE *out)
{
	/* ragged right: a value list has few places to break a line */
	fputs(".ad l\n", out);
	for (size_t i = 0; i < cfg_n_settings; i++) {
		const struct cfg_setting *s = &cfg_settings[i];
		char *type, *def, *range, *doc;

		schema_cells(s, &type, &def, &range, &doc);
		fputs(".TP\n.B ", out);
		roff_text(out, s->key);
		fputs("\n", out);
		roff_text(out, doc);
		fputs(".\n.br\nType: ", out);
		roff_text(out, type);
		fputs("; default: ", out);
		roff_text(out, def);
		if (*range) {
			fputs("; values: ", out);
			roff_text(out, range);
		}
		fprintf(out, "; %s.\n", (s->flags & CFG_F_RESTART) ? "needs a restart to change" : "hot");
		free(type);
		free(def);
		free(range);
		free(doc);
	}
	fputs(".ad b\n", out);
}

