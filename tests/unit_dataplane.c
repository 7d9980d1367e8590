/* SPDX-License-Identifier: MIT */
/*
 * unit_dataplane.c - the tunnel component with a real engine and a real
 * data-plane thread on loopback:
 *
 *  - a reload that only touches logging.level never reaches the data
 *    plane; a rate change reuses the TLS context, the listener and the
 *    resolved addresses (getaddrinfo is wrapped and counted: no name is
 *    resolved again); a new forward.target is resolved once;
 *  - engine atomicity with a real prepare failure: the listener moved to a
 *    port another socket holds, in the same reload as a rate change, is
 *    rejected (apply_error) and neither the rate nor the listener changes;
 *  - another thread gets a consistent snapshot of the sessions through the
 *    data thread's mailbox;
 *  - the fd-limit warning --check prints.
 */
#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <CUnit/Basic.h>

#include "config.h"
#include "dataplane.h"
#include "reload.h"
#include "session.h"
#include "stats.h"
#include "testutil.h"
#include "tls.h"

/* ---- getaddrinfo, counted (-Wl,--wrap=getaddrinfo) ----------------------- */

int __real_getaddrinfo(const char *node, const char *service, const struct addrinfo *hints,
		       struct addrinfo **res);
int __wrap_getaddrinfo(const char *node, const char *service, const struct addrinfo *hints,
		       struct addrinfo **res);

static int resolutions;

int __wrap_getaddrinfo(const char *node, const char *service, const struct addrinfo *hints,
		       struct addrinfo **res)
{
	if (!(hints && (hints->ai_flags & AI_PASSIVE)))
		resolutions++;
	return __real_getaddrinfo(node, service, hints, res);
}

/* ---- a server on loopback --------------------------------------------------- */

static const char *conf_path;
static int port_a;

/* A port nothing listens on now. */
static int free_port(void)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM, 0), p;

	CU_ASSERT_FATAL(fd >= 0 && bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0);
	getsockname(fd, (struct sockaddr *)&sa, &len);
	p = ntohs(sa.sin_port);
	close(fd);
	return p;
}

static void write_conf(int listen_port, int kbps, const char *target, const char *level)
{
	const char *pki = tu_pki();
	char text[4096];

	snprintf(text, sizeof(text),
		 "mode = \"server\";\n"
		 "tunnel = { listen = \"127.0.0.1:%d\"; cert_file = \"%s/server.crt\"; key_file = \"%s/server.key\";\n"
		 "  ca_file = \"%s/ca.crt\"; upload_kbps = %d; };\n"
		 "forward = { target = \"%s\"; };\n"
		 "monitor = { snmp_enabled = false; };\n"
		 "logging = { level = \"%s\"; };\n",
		 listen_port, pki, pki, pki, kbps, target, level);
	tu_write(conf_path, text);
}

struct rig {
	struct engine *e;
	struct dataplane *dp;
	struct tunnel_stats st;
};

static void rig_open(struct rig *r)
{
	memset(r, 0, sizeof(*r));
	conf_path = tu_path(tu_tmpdir(), "dp.conf");
	port_a = free_port();
	write_conf(port_a, 1000, "localhost:5201", "info");
	r->e = engine_new(conf_path);
	r->dp = dp_new(&r->st);
	engine_register(r->e, dp_component(r->dp));
	CU_ASSERT_FATAL(engine_reload(r->e, RELOAD_SRC_STARTUP, NULL, NULL) == RELOAD_APPLIED);
	CU_ASSERT_FATAL(dp_start(r->dp) == 0);
}

static void rig_close(struct rig *r)
{
	dp_stop(r->dp);
	engine_free(r->e);
	dp_free(r->dp);
}

static int running_kbps(struct rig *r)
{
	struct config *c = dp_running_config(r->dp);
	int v = c ? c->tunnel.upload_kbps : -1;

	cfg_unref(c);
	return v;
}

/* Whether something accepts a TCP connection on port (the data thread). */
static bool accepts(int port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port),
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	bool ok = connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;

	close(fd);
	return ok;
}

/* ---- the component mask -------------------------------------------------------- */

static void test_only_what_changed(void)
{
	struct rig r;
	struct config *before, *after;

	rig_open(&r);
	before = dp_running_config(r.dp);
	/* logging.level: the data plane is not touched */
	resolutions = 0;
	write_conf(port_a, 1000, "localhost:5201", "debug");
	CU_ASSERT_EQUAL(engine_reload(r.e, RELOAD_SRC_FILE, NULL, NULL), RELOAD_APPLIED);
	after = dp_running_config(r.dp);
	CU_ASSERT_PTR_EQUAL(before, after); /* still the snapshot it had */
	CU_ASSERT_EQUAL(resolutions, 0);
	cfg_unref(after);
	/* a rate: a new data-plane configuration, nothing resolved again */
	write_conf(port_a, 2000, "localhost:5201", "debug");
	CU_ASSERT_EQUAL(engine_reload(r.e, RELOAD_SRC_FILE, NULL, NULL), RELOAD_APPLIED);
	CU_ASSERT_EQUAL(running_kbps(&r), 2000);
	CU_ASSERT_EQUAL(resolutions, 0);
	CU_ASSERT(accepts(port_a)); /* the same listener */
	/* a new target: resolved, once */
	write_conf(port_a, 2000, "localhost:5202", "debug");
	CU_ASSERT_EQUAL(engine_reload(r.e, RELOAD_SRC_FILE, NULL, NULL), RELOAD_APPLIED);
	CU_ASSERT_EQUAL(resolutions, 1);
	cfg_unref(before);
	rig_close(&r);
}

/* ---- atomicity with a real prepare failure -------------------------------------- */

static void test_taken_port_keeps_the_rate(void)
{
	struct rig r;
	struct reload_outcome out = { 0 };
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(sa);
	int taken = socket(AF_INET, SOCK_STREAM, 0);

	rig_open(&r);
	/* another program holds port B */
	CU_ASSERT_FATAL(bind(taken, (struct sockaddr *)&sa, sizeof(sa)) == 0 && listen(taken, 1) == 0);
	getsockname(taken, (struct sockaddr *)&sa, &len);
	int port_b = ntohs(sa.sin_port);
	uint32_t version = engine_version(r.e);

	write_conf(port_b, 5000, "localhost:5201", "info");
	CU_ASSERT_EQUAL(engine_reload(r.e, RELOAD_SRC_FILE, NULL, &out), RELOAD_APPLY_ERROR);
	CU_ASSERT_FATAL(out.errors.n >= 1);
	CU_ASSERT_STRING_EQUAL(out.errors.v[0].key, "tunnel.listen");
	CU_ASSERT_PTR_NOT_NULL(strstr(out.errors.v[0].message, "cannot listen"));
	reload_outcome_free(&out);
	/* nothing changed: version, the running snapshot, the data plane's rate,
	 * the listener */
	CU_ASSERT_EQUAL(engine_version(r.e), version);
	struct config *cur = engine_current(r.e);
	CU_ASSERT_EQUAL(cur->tunnel.upload_kbps, 1000);
	cfg_unref(cur);
	CU_ASSERT_EQUAL(running_kbps(&r), 1000);
	CU_ASSERT(accepts(port_a));
	/* once the port is free the same change applies, rate and all */
	close(taken);
	CU_ASSERT_EQUAL(engine_reload(r.e, RELOAD_SRC_FILE, NULL, NULL), RELOAD_APPLIED);
	CU_ASSERT_EQUAL(running_kbps(&r), 5000);
	rig_close(&r);
}

/* ---- sessions seen from another thread ---------------------------------------------- */

static void test_snapshot_from_another_thread(void)
{
	struct rig r;
	struct session_record rec[4];
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)0),
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	long n;

	rig_open(&r);
	CU_ASSERT_EQUAL(dp_sessions(r.dp, rec, 4, 1000), 0);
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	sa.sin_port = htons((uint16_t)port_a);
	CU_ASSERT_FATAL(connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0);
	for (int i = 0; i < 200 && atomic_load(&r.st.sessions_pending) != 1; i++)
		poll(NULL, 0, 10); /* until the data thread accepted it */
	CU_ASSERT_EQUAL_FATAL(atomic_load(&r.st.sessions_pending), 1);
	/* a connection in its handshake is nobody yet: not in the records */
	n = dp_sessions(r.dp, rec, 4, 1000);
	CU_ASSERT_EQUAL(n, 0);
	close(fd);
	/* a stopped data plane does not answer */
	dp_stop(r.dp);
	CU_ASSERT_EQUAL(dp_sessions(r.dp, rec, 4, 100), -1);
	rig_close(&r);
}

/* ---- the fd-limit warning ---------------------------------------------------------- */

static void test_fd_limit_warning(void)
{
	struct config *c = NULL;
	struct cfg_errors errs = { 0 };
	char msg[400];
	struct rlimit rl;

	conf_path = tu_path(tu_tmpdir(), "fd.conf");
	write_conf(free_port(), 1000, "localhost:5201", "info");
	CU_ASSERT_FATAL(cfg_load(conf_path, NULL, 0, &c, &errs) == CFG_OK);
	getrlimit(RLIMIT_NOFILE, &rl);
	if (rl.rlim_max == RLIM_INFINITY || rl.rlim_max >= session_fds_needed(c))
		CU_ASSERT_EQUAL(dp_fd_limit_warning(c, msg, sizeof(msg)), 0);
	/* this process cannot open more than 256 from now on */
	rl.rlim_cur = rl.rlim_max = 256;
	CU_ASSERT_FATAL(setrlimit(RLIMIT_NOFILE, &rl) == 0);
	CU_ASSERT_EQUAL(dp_fd_limit_warning(c, msg, sizeof(msg)), 1);
	CU_ASSERT_PTR_NOT_NULL(strstr(msg, "may need 3104 file descriptors"));
	CU_ASSERT_PTR_NOT_NULL(strstr(msg, "RLIMIT_NOFILE allows 256"));
	cfg_unref(c);
	cfg_errors_free(&errs);
}

int main(void)
{
	if (CU_initialize_registry() != CUE_SUCCESS)
		return 99;
	CU_pSuite s = CU_add_suite("dataplane", NULL, NULL);
	CU_add_test(s, "a reload touches only what changed", test_only_what_changed);
	CU_add_test(s, "a taken port rejects the reload and keeps the rate", test_taken_port_keeps_the_rate);
	CU_add_test(s, "sessions from another thread", test_snapshot_from_another_thread);
	CU_add_test(s, "fd-limit warning", test_fd_limit_warning); /* last: lowers the limit */
	return tu_run();
}
