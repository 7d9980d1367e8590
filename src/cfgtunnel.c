/* SPDX-License-Identifier: MIT */
/*
 * cfgtunnel.c - the settings table's checks of the tunnel's hardening
 * settings: the TLS key-exchange groups, and the tun server's peer address
 * map (each entry's syntax, and the rules against network.address).
 *
 * Referenced by rows of cfg_settings[] only; pure, no state, no I/O.  The
 * address rules are tunpkt.c's, so that validation and the running server
 * refuse exactly the same addresses.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "config.h"
#include "tunpkt.h"

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

const char *cfg_check_peer(const char *v)
{
	char name[256];
	struct tun_addr a;

	if (tunpkt_peer_parse(v, name, sizeof(name), &a) < 0)
		return "must be NAME=ADDRESS (a certificate CN or SAN, then an IPv4 or IPv6 address without prefix)";
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
