/* SPDX-License-Identifier: MIT */
/*
 * cfgcheck.c - the settings table's checks of single values beyond their
 * type: host:port, names, CIDR, the AgentX address, the user, the TLS
 * key-exchange groups, and the tun server's peer address map (each entry's
 * syntax, and the rules against network.address).
 *
 * Referenced by rows of cfg_settings[] (settings.c) only; pure, no state,
 * no output.  The address rules are tunpkt.c's, so that validation and
 * the running server refuse exactly the same addresses.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <limits.h>
#include <pwd.h>
#include <stdbool.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "config.h"
#include "pki.h"
#include "tlspolicy.h"
#include "tunpkt.h"

/* ---- value checks (referenced by the table) ------------------------- */

/* A DNS name: dot-separated labels of letters, digits, '-' and '_', at
 * most 63 characters each, 253 in all, an optional final dot; and not
 * made only of digits and dots (that would be a malformed IPv4 address). */
static bool is_dns_name(const char *s)
{
	size_t len = strlen(s), label = 0;
	bool alpha = false;

	if (len == 0 || len > 254 || (len == 254 && s[253] != '.') || s[0] == '.')
		return false;
	for (const char *p = s; *p; p++) {
		if (*p == '.') {
			if (label == 0 && p[1])
				return false;
			label = 0;
			continue;
		}
		if (!isalnum((unsigned char)*p) && *p != '-' && *p != '_')
			return false;
		if (!isdigit((unsigned char)*p))
			alpha = true;
		if (++label > 63)
			return false;
	}
	return alpha;
}

static bool is_ip_literal(const char *s)
{
	unsigned char buf[16];

	return inet_pton(AF_INET, s, buf) == 1 || inet_pton(AF_INET6, s, buf) == 1;
}

int cfg_hostport_split(const char *hp, char *host, size_t host_len, int *port)
{
	const char *colon, *h = hp;
	size_t n;
	unsigned char buf[16];

	if (hp[0] == '[') {
		const char *close = strchr(hp, ']');
		if (!close || close[1] != ':')
			return -1;
		h = hp + 1;
		n = (size_t)(close - h);
		colon = close + 1;
	} else {
		colon = strrchr(hp, ':');
		if (!colon)
			return -1;
		n = (size_t)(colon - hp);
		if (memchr(hp, ':', n)) /* an IPv6 literal needs brackets */
			return -1;
	}
	if (n == 0 || n >= host_len)
		return -1;
	memcpy(host, h, n);
	host[n] = '\0';
	if (hp[0] == '[' ? inet_pton(AF_INET6, host, buf) != 1
			 : !(inet_pton(AF_INET, host, buf) == 1 || is_dns_name(host)))
		return -1;

	const char *p = colon + 1;
	long v = 0;
	if (!*p || strlen(p) > 5)
		return -1;
	for (; *p; p++) {
		if (!isdigit((unsigned char)*p))
			return -1;
		v = v * 10 + (*p - '0');
	}
	if (v < 1 || v > 65535)
		return -1;
	*port = (int)v;
	return 0;
}

const char *cfg_check_hostport(const char *v)
{
	char host[256];
	int port;

	if (cfg_hostport_split(v, host, sizeof(host), &port) < 0)
		return "must be host:port with a port between 1 and 65535";
	return NULL;
}

const char *cfg_check_server_name(const char *v)
{
	if (is_ip_literal(v) || is_dns_name(v))
		return NULL;
	return "must be a DNS name or an IP address";
}

const char *cfg_check_agentx(const char *v)
{
	static const char msg[] = "must be a socket path (/path or unix:/path) or tcp:host:port";

	if (v[0] == '/')
		return NULL;
	if (strncmp(v, "unix:", 5) == 0)
		return v[5] == '/' ? NULL : msg;
	if (strncmp(v, "tcp:", 4) == 0)
		return cfg_check_hostport(v + 4) ? msg : NULL;
	return msg;
}

const char *cfg_check_cidr(const char *v)
{
	static const char msg[] = "must be an address with a prefix length (a.b.c.d/len or IPv6/len)";
	char addr[INET6_ADDRSTRLEN + 1];
	unsigned char buf[16];
	const char *slash = strchr(v, '/');
	int max;
	long len = 0;

	if (!slash || (size_t)(slash - v) >= sizeof(addr) || !slash[1] || strlen(slash + 1) > 3)
		return msg;
	memcpy(addr, v, (size_t)(slash - v));
	addr[slash - v] = '\0';
	if (inet_pton(AF_INET, addr, buf) == 1)
		max = 32;
	else if (inet_pton(AF_INET6, addr, buf) == 1)
		max = 128;
	else
		return msg;
	for (const char *p = slash + 1; *p; p++) {
		if (!isdigit((unsigned char)*p))
			return msg;
		len = len * 10 + (*p - '0');
	}
	return len <= max ? NULL : msg;
}

/* An SNMP context name: what snmpd.conf's -Cn and snmp* -n accept
 * without quoting, at most 32 octets (SnmpAdminString, contextName). */
const char *cfg_check_context(const char *v)
{
	if (strlen(v) > 32)
		goto bad;
	for (const char *p = v; *p; p++)
		if (!isalnum((unsigned char)*p) && *p != '-' && *p != '_' && *p != '.')
			goto bad;
	return NULL;
bad:
	return "must be at most 32 letters, digits, '-', '_' or '.'";
}

/* What the kernel's dev_valid_name() accepts. */
const char *cfg_check_ifname(const char *v)
{
	size_t n = strlen(v);

	if (n == 0 || n > 15 || strcmp(v, ".") == 0 || strcmp(v, "..") == 0)
		goto bad;
	for (const char *p = v; *p; p++)
		if (*p == '/' || *p == ':' || isspace((unsigned char)*p) || !isprint((unsigned char)*p))
			goto bad;
	return NULL;
bad:
	return "must be a valid interface name (1 to 15 characters, no '/', ':' or whitespace)";
}

/* A user of the passwd database (user: the daemon switches to it). */
const char *cfg_check_user(const char *v)
{
	if (!*v || strpbrk(v, ":/ \t\n"))
		return "must be a user name";
	return getpwnam(v) ? NULL : "no such user";
}

/* reload.state_dir: an absolute path (the state must not move with the
 * working directory). */
const char *cfg_check_state_dir(const char *v)
{
	return v[0] == '/' ? NULL : "must be an absolute path";
}

/* Elliptic-curve groups only: a finite-field group (ffdhe2048..8192) costs
 * the server up to ~120 ms of CPU per handshake, which a client without a
 * certificate chooses. */
static const char *const groups[] = { "X25519", "X448", "P-256", "P-384", "P-521", NULL };

const char *cfg_check_tls_groups(const char *v)
{
	static const char msg[] = "must be a colon-separated list of X25519, X448, P-256, P-384, P-521 "
				  "(finite-field groups cost the server ~100 ms per handshake)";
	const char *p = v;

	if (!*v)
		return msg;
	while (*p) {
		size_t n = strcspn(p, ":"), i;
		for (i = 0; groups[i]; i++)
			if (strlen(groups[i]) == n && strncasecmp(groups[i], p, n) == 0)
				break;
		if (!groups[i])
			return msg;
		p += n;
		if (*p == ':' && !*++p)
			return msg; /* a trailing colon */
	}
	return NULL;
}

/* The cipher lists: what OpenSSL accepts, entry by entry (tlspolicy.c).
 * The message names the entry, so it lives in a per-thread buffer that
 * the caller uses before the next check. */
static _Thread_local char cipher_msg[400];

const char *cfg_check_tls_ciphersuites(const char *v)
{
	return tlspolicy_ciphersuites_problem(v, cipher_msg, sizeof(cipher_msg));
}

const char *cfg_check_tls_ciphers(const char *v)
{
	return tlspolicy_ciphers_problem(v, cipher_msg, sizeof(cipher_msg));
}

const char *cfg_check_peer(const char *v)
{
	char name[256];
	struct tun_addr a;

	if (tunpkt_peer_parse(v, name, sizeof(name), &a) < 0 || pki_name_check(name))
		return "must be NAME=ADDRESS (NAME as an allowed_peers entry, ADDRESS an IPv4 or IPv6 address "
		       "without prefix)";
	return NULL;
}

const char *cfg_cross_peers(const struct config *c, char *buf, size_t len)
{
	const struct cfg_strlist *l = &c->tunnel.peers;
	struct tun_prefix net;
	char name[256], other[256], text[64];
	struct tun_addr a, b;

	if (!c->network.address || tun_parse_cidr(c->network.address, &net) < 0)
		return NULL; /* network.address has its own error */
	for (size_t i = 0; i < l->n; i++) {
		if (tunpkt_peer_parse(l->v[i], name, sizeof(name), &a) < 0)
			continue;
		const char *why = tunpkt_address_problem(&net, &a);
		if (why) {
			snprintf(buf, len, "%s: address %s %s (network.address = %s)", name,
				 tun_addr_str(&a, text, sizeof(text)), why, c->network.address);
			return buf;
		}
		for (size_t j = 0; j < i; j++) {
			if (tunpkt_peer_parse(l->v[j], other, sizeof(other), &b) < 0)
				continue;
			if (tun_addr_equal(&a, &b)) {
				snprintf(buf, len, "%s and %s have the same address %s", other, name,
					 tun_addr_str(&a, text, sizeof(text)));
				return buf;
			}
			if (strcasecmp(name, other) == 0) {
				snprintf(buf, len, "%s is listed twice", name);
				return buf;
			}
		}
	}
	return NULL;
}
