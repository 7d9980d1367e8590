/* SPDX-License-Identifier: MIT */
/*
 * privs.c - switch to the service user and give up capabilities
 * (libcap-ng), and refuse reloads that would need what was given up.
 *
 * Runs on the control thread.  privs_drop() is called once, after the
 * startup reload opened the TUN device and bound the listeners and before
 * the data-plane and SNMP threads are started: capabilities belong to a
 * thread, and threads inherit them from the one that creates them.  This
 * file never raises a privilege.
 */
#include "privs.h"

#include <cap-ng.h>
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "config.h"
#include "log.h"
#include "reload.h"

/* The capabilities the transport needs while it runs. */
static void wanted_caps(const struct config *c, unsigned int *caps, size_t *n)
{
	*n = 0;
	if (c->transport == CFG_TRANSPORT_TUN)
		caps[(*n)++] = CAP_NET_ADMIN; /* SIOCSIFMTU on a live network.mtu change */
}

static void caps_text(struct sbuf *out)
{
	char *t;

	capng_get_caps_process();
	t = capng_print_caps_text(CAPNG_PRINT_BUFFER, CAPNG_EFFECTIVE);
	sbuf_add(out, t && strcmp(t, "none") ? t : "none");
	free(t);
}

static void groups_text(struct sbuf *out)
{
	gid_t g[64];
	int n = getgroups(64, g);

	for (int i = 0; i < n; i++) {
		struct group *gr = getgrgid(g[i]);
		sbuf_printf(out, "%s%s", i ? "," : "", gr ? gr->gr_name : "?");
		if (!gr)
			sbuf_printf(out, "(%u)", (unsigned)g[i]);
	}
	if (n <= 0)
		sbuf_add(out, "none");
}

int privs_drop(const char *user, const struct config *c, struct cfg_errors *errs)
{
	unsigned int caps[4];
	size_t n;
	int r;

	wanted_caps(c, caps, &n);
	if (user) {
		struct passwd *pw = getpwnam(user);
		if (!pw) {
			cfg_errors_add(errs, c->path, 0, "user", user, "no such user");
			return -1;
		}
		if (geteuid() != 0 && geteuid() != pw->pw_uid) {
			cfg_errors_add(errs, c->path, 0, "user", user,
				       "cannot switch to this user: the daemon was not started as root");
			return -1;
		}
		capng_clear(CAPNG_SELECT_ALL);
		for (size_t i = 0; i < n; i++)
			capng_update(CAPNG_ADD, CAPNG_EFFECTIVE | CAPNG_PERMITTED | CAPNG_BOUNDING_SET, caps[i]);
		if (pw->pw_uid != geteuid()) {
			/* initgroups (Debian-snmp for the AgentX socket), setresgid,
			 * setresuid; the capabilities above survive the switch. */
			r = capng_change_id((int)pw->pw_uid, (int)pw->pw_gid,
					    CAPNG_INIT_SUPP_GRP | CAPNG_CLEAR_BOUNDING);
			if (r < 0) {
				cfg_errors_add(errs, c->path, 0, "user", user,
					       "cannot switch to this user (libcap-ng error %d: %s)", r,
					       strerror(errno));
				return -1;
			}
		} else if (capng_apply(CAPNG_SELECT_CAPS) < 0) {
			cfg_errors_add(errs, c->path, 0, "user", user, "cannot drop capabilities: %s",
				       strerror(errno));
			return -1;
		}
	} else if (geteuid() != 0) {
		/* Started as the service user (systemd's User= with
		 * AmbientCapabilities=): keep what the transport needs of
		 * what we were given, drop the rest. */
		capng_get_caps_process();
		bool have[4];
		for (size_t i = 0; i < n; i++)
			have[i] = capng_have_capability(CAPNG_PERMITTED, caps[i]);
		capng_clear(CAPNG_SELECT_CAPS);
		for (size_t i = 0; i < n; i++)
			if (have[i])
				capng_update(CAPNG_ADD, CAPNG_EFFECTIVE | CAPNG_PERMITTED, caps[i]);
		if (capng_apply(CAPNG_SELECT_CAPS) < 0) {
			cfg_errors_add(errs, c->path, 0, NULL, NULL, "cannot drop capabilities: %s",
				       strerror(errno));
			return -1;
		}
	}
	/* Nothing this process runs may gain a privilege (no exec does, but
	 * a setuid binary reached by a bug would be refused too). */
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
		cfg_errors_add(errs, c->path, 0, NULL, NULL, "cannot set no_new_privs: %s", strerror(errno));
		return -1;
	}

	struct sbuf caps_now = { 0 }, groups = { 0 };
	struct passwd *me = getpwuid(geteuid());
	caps_text(&caps_now);
	groups_text(&groups);
	if (geteuid() == 0 && !user)
		log_warning("daemon", "event=privileges user=root capabilities=all no_new_privs=1 "
			    "hint=\"set user or --user to run as the service user\"");
	else
		log_info("daemon", "event=privileges user=%s uid=%u gid=%u groups=%s capabilities=%s no_new_privs=1",
			 me ? me->pw_name : "?", (unsigned)geteuid(), (unsigned)getegid(), sbuf_str(&groups),
			 sbuf_str(&caps_now));
	sbuf_free(&caps_now);
	sbuf_free(&groups);
	return 0;
}

bool privs_have(unsigned int cap)
{
	capng_get_caps_process();
	return capng_have_capability(CAPNG_EFFECTIVE, cap) != 0;
}

/* ---- the component ------------------------------------------------------ */

/* The first port a process without CAP_NET_BIND_SERVICE may bind. */
static int unprivileged_port_start(void)
{
	FILE *f = fopen("/proc/sys/net/ipv4/ip_unprivileged_port_start", "re");
	int v = 1024;

	if (f) {
		if (fscanf(f, "%d", &v) != 1)
			v = 1024;
		fclose(f);
	}
	return v;
}

static void check_listen(const struct config *old, const struct config *new_cfg, const char *key,
			 struct cfg_errors *errs)
{
	const struct cfg_setting *s = cfg_setting_find(key);
	char host[256];
	int port;

	if (!cfg_required_holds(new_cfg, s->scope) || !cfg_value_is_set(new_cfg, s) ||
	    (cfg_required_holds(old, s->scope) && cfg_value_equal(old, new_cfg, s)))
		return;
	const char *v = key[0] == 't' ? new_cfg->tunnel.listen : new_cfg->forward.listen;
	if (cfg_hostport_split(v, host, sizeof(host), &port) < 0 || port >= unprivileged_port_start() ||
	    privs_have(CAP_NET_BIND_SERVICE))
		return;
	cfg_errors_add(errs, new_cfg->path, new_cfg->line[cfg_setting_index(s)], key, v,
		       "port %d needs CAP_NET_BIND_SERVICE, which the daemon gave up after startup "
		       "(restart required)", port);
}

static int privs_prepare(void *ctx, const struct config *old, const struct config *new_cfg, void **staged,
			 struct cfg_errors *errs)
{
	size_t before = errs->n;

	if (!old)
		return 0; /* startup runs with what the daemon was started with */
	check_listen(old, new_cfg, "tunnel.listen", errs);
	check_listen(old, new_cfg, "forward.listen", errs);
	return errs->n > before ? -1 : 0;
}

static const struct component comp = {
	.name = "privileges",
	.prepare = privs_prepare,
};

const struct component *privs_component(void)
{
	return &comp;
}
