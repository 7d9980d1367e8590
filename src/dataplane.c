/* SPDX-License-Identifier: MIT */
/*
 * dataplane.c - the data-plane thread and the tunnel component (see
 * dataplane.h).
 *
 * The component (prepare/commit/revert/abort) runs on the control thread
 * and reaches the data thread only through its mailbox: a committed
 * dpconf is posted and installed between two events (the listener moved,
 * the session layer re-checks every session).  The data thread owns the
 * loop, the listener and the accept back-off; everything about sessions
 * is the session layer's, everything about a transport is the
 * transport's, picked from a table of ops.
 *
 * It must never block: every socket is non-blocking, every wait is an
 * epoll interest or a timer; file-descriptor exhaustion pauses accepting
 * instead of spinning on a listener that stays readable.
 */
#include "dataplane.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/err.h>

#include "config.h"
#include "dpconf.h"
#include "log.h"
#include "loop.h"
#include "mailbox.h"
#include "net.h"
#include "reload.h"
#include "session.h"
#include "stats.h"
#include "transport.h"

#define ACCEPT_BATCH 64
#define BACKOFF_MIN_MS 100
#define BACKOFF_MAX_MS 1000
#define PENDING_RETRY_NS 5000000ull /* a client end out of pending slots looks again */

static const struct transport *const transports[] = {
	[CFG_TRANSPORT_FORWARD] = &forward_transport,
	[CFG_TRANSPORT_TUN] = &tunnel_transport,
};

struct dataplane {
	struct tunnel_stats *stats;
	struct component comp;
	const struct transport *tp;
	void *t; /* the transport's state */

	/* control thread: the dpconf it last committed */
	struct dpconf *ctl_live;
	struct mailbox mb; /* control (and others) -> data thread */

	pthread_t thread;
	bool started;
	atomic_bool stopping;

	/* data thread */
	struct loop *loop;
	struct session_layer *sl;
	struct loop_handler listen_h;
	struct listener *listening; /* the listener registered in the loop */
	struct loop_timer accept_timer;
	unsigned backoff_ms;
	int reserve_fd; /* spare descriptor, given up to refuse at EMFILE */
};

/* ---- descriptors ------------------------------------------------------------- */

int dp_fd_limit_warning(const struct config *c, char *buf, size_t len)
{
	struct rlimit rl;
	unsigned long need = session_fds_needed(c);

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_max == RLIM_INFINITY || need <= rl.rlim_max)
		return 0;
	snprintf(buf, len,
		 "tunnel.max_clients, tunnel.max_pending and forward.max_streams may need %lu file descriptors, "
		 "but RLIMIT_NOFILE allows %llu (raise the hard limit, e.g. LimitNOFILE= in the service unit, "
		 "or lower the caps)",
		 need, (unsigned long long)rl.rlim_max);
	return 1;
}

/* At start: the soft limit up to the hard one (the default soft limit of
 * 1024 is far below what the caps allow). */
static void raise_nofile(const struct config *c)
{
	struct rlimit rl;
	char warn[400];

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rlim_t was = rl.rlim_cur;
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) == 0)
			log_info("dataplane", "event=fd_limit_raised from=%llu to=%llu", (unsigned long long)was,
				 (unsigned long long)rl.rlim_cur);
	}
	if (dp_fd_limit_warning(c, warn, sizeof(warn)))
		log_warning("dataplane", "event=fd_limit_low detail=\"%s\"", warn);
}

/* ---- the component (control thread) ------------------------------------------ */

struct dp_staged {
	struct dpconf *conf;     /* what prepare built */
	struct dpconf *replaced; /* after commit: what it replaced */
	bool device;             /* the transport's commit applies a device change */
};

static int dp_prepare(void *ctx, const struct config *old, const struct config *new_cfg,
		      void **staged, struct cfg_errors *errs)
{
	struct dataplane *dp = ctx;
	unsigned changed = cfg_changed_components(dp->ctl_live ? dp->ctl_live->cfg : NULL, new_cfg);
	struct dpconf *c;

	if (dp->ctl_live && !(changed & CFG_C_TUNNEL_ANY))
		return 0; /* nothing the data plane runs changed */
	if (!dp->tp) {
		dp->tp = transports[new_cfg->transport];
		dp->t = dp->tp->create(dp->sl);
		raise_nofile(new_cfg);
		if (dp->tp->setup && dp->tp->setup(dp->t, new_cfg, errs) < 0)
			return -1;
	} else if ((changed & CFG_C_TUN) && dp->tp->prepare &&
		   dp->tp->prepare(dp->t, dp->ctl_live->cfg, new_cfg, errs) < 0) {
		return -1;
	}
	if (!(c = dpconf_build(dp->ctl_live, (struct config *)new_cfg, errs)))
		return -1;
	struct dp_staged *s = xcalloc(1, sizeof(*s));
	s->conf = c;
	s->device = dp->ctl_live && (changed & CFG_C_TUN);
	*staged = s;
	return 0;
}

static void install(void *owner, void *arg);

static void post(struct dataplane *dp, struct dpconf *c)
{
	mailbox_post(&dp->mb, install, dpconf_ref(c), (void (*)(void *))dpconf_unref);
}

static void dp_commit(void *ctx, void *staged)
{
	struct dataplane *dp = ctx;
	struct dp_staged *s = staged;

	s->replaced = dp->ctl_live;
	dp->ctl_live = dpconf_ref(s->conf);
	if (s->device && dp->tp->commit)
		dp->tp->commit(dp->t, s->conf->cfg);
	post(dp, s->conf);
}

static void dp_revert(void *ctx, void *staged)
{
	struct dataplane *dp = ctx;
	struct dp_staged *s = staged;
	struct dpconf *undone = dp->ctl_live;

	dp->ctl_live = s->replaced;
	s->replaced = undone;
	if (s->device && dp->tp->commit)
		dp->tp->commit(dp->t, dp->ctl_live->cfg);
	post(dp, dp->ctl_live);
}

static void dp_abort(void *ctx, void *staged)
{
	struct dp_staged *s = staged;

	dpconf_unref(s->conf);
	dpconf_unref(s->replaced);
	free(s);
}

struct config *dp_running_config(struct dataplane *dp)
{
	return dp->ctl_live ? cfg_ref(dp->ctl_live->cfg) : NULL;
}

/* ---- the listener (data thread) ----------------------------------------------- */

static void accept_resume(struct loop *l, struct loop_timer *t)
{
	struct dataplane *dp = container_of(t, struct dataplane, accept_timer);

	if (dp->listening)
		loop_watch(l, &dp->listen_h, EPOLLIN);
}

/*
 * Out of descriptors.  The listener stays readable, so accepting again at
 * once would spin: refuse the connection at the head of the queue with
 * the spare descriptor (the peer sees a close, not a hang), stop accepting
 * for a back-off that doubles while it lasts, and say so at most a few
 * times per interval.
 */
static void fd_exhausted(struct dataplane *dp, int err)
{
	struct session_layer *sl = dp->sl;

	if (dp->reserve_fd >= 0) {
		close(dp->reserve_fd);
		int fd = accept4(dp->listen_h.fd, NULL, NULL, SOCK_CLOEXEC);
		if (fd >= 0)
			close(fd);
		dp->reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	}
	dp->backoff_ms = dp->backoff_ms ? dp->backoff_ms * 2 : BACKOFF_MIN_MS;
	if (dp->backoff_ms > BACKOFF_MAX_MS)
		dp->backoff_ms = BACKOFF_MAX_MS;
	atomic_fetch_add_explicit(&dp->stats->accept_paused, 1, memory_order_relaxed);
	if (session_log_allowed(sl, "accept_paused", "fd_limit"))
		log_warning("dataplane", "event=accept_paused reason=fd_limit error=%s listen=%s pause_ms=%u",
			    strerror(err), dp->listening->addr, dp->backoff_ms);
	loop_watch(dp->loop, &dp->listen_h, 0);
	loop_timer_set(dp->loop, &dp->accept_timer, loop_now_ns(dp->loop) + dp->backoff_ms * 1000000ull);
}

static void on_listen(struct loop *l, struct loop_handler *h, uint32_t events)
{
	struct dataplane *dp = container_of(h, struct dataplane, listen_h);
	bool client = session_layer_conf(dp->sl)->cfg->mode == CFG_MODE_CLIENT;

	for (int i = 0; i < ACCEPT_BATCH; i++) {
		/* A client's pending handshakes are its own applications':
		 * when tunnel.max_pending are under way, the next ones wait in
		 * the listen queue instead of pushing them out. */
		if (client && session_pending_full(dp->sl)) {
			loop_watch(l, h, 0);
			loop_timer_set(l, &dp->accept_timer, loop_now_ns(l) + PENDING_RETRY_NS);
			return;
		}
		struct sockaddr_storage ss;
		socklen_t len = sizeof(ss);
		int fd = accept4(h->fd, (struct sockaddr *)&ss, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM)
				fd_exhausted(dp, errno);
			else if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED &&
				 session_log_allowed(dp->sl, "accept_failed", "error"))
				log_warning("dataplane", "event=accept_failed listen=%s error=%s", dp->listening->addr,
					    strerror(errno));
			return;
		}
		dp->backoff_ms = 0;
		dp->tp->accept(dp->t, fd, (struct sockaddr *)&ss, len);
	}
}

/* Listen on c's listener (stop on the one it replaces). */
static void move_listener(struct dataplane *dp, struct dpconf *c)
{
	if (dp->listening == c->listener)
		return;
	if (dp->listening) {
		/* Stop accepting now, although sessions still hold the conf
		 * (and so the socket) they came in under.  The socket stays
		 * bound: a revert can listen on it again. */
		loop_watch(dp->loop, &dp->listen_h, 0);
		loop_timer_cancel(dp->loop, &dp->accept_timer);
		shutdown(dp->listening->fd, SHUT_RDWR);
		log_info("dataplane", "event=listener_closed listen=%s", dp->listening->addr);
		dpconf_listener_unref(dp->listening);
	}
	dp->listening = dpconf_listener_ref(c->listener);
	if (!dp->listening)
		return;
	if (listen(dp->listening->fd, SOMAXCONN) < 0)
		log_error("dataplane", "event=listen_failed listen=%s error=%s", dp->listening->addr,
			  strerror(errno));
	dp->listen_h.fd = dp->listening->fd;
	dp->listen_h.events = 0;
	dp->listen_h.in_set = false;
	dp->backoff_ms = 0;
	loop_watch(dp->loop, &dp->listen_h, EPOLLIN);
	log_info("dataplane", "event=listening listen=%s", dp->listening->addr);
}

/* A dpconf the control thread committed (mailbox item). */
static void install(void *owner, void *arg)
{
	struct dataplane *dp = owner;
	struct dpconf *c = arg;

	move_listener(dp, c);
	/* accepted sockets inherit the listener's keepalive: set once per
	 * configuration instead of five system calls per connection */
	if (c->listener && c->cfg->mode == CFG_MODE_SERVER && dp->tp->tcp_keepalive)
		net_keepalive(c->listener->fd, c->cfg->tunnel.keepalive_s);
	session_layer_install(dp->sl, c);
}

/* ---- the thread ------------------------------------------------------------- */

static void clear_tls_errors(void)
{
	ERR_clear_error();
}

static void *dp_main(void *arg)
{
	struct dataplane *dp = arg;

	mailbox_run(&dp->mb, dp);
	if (!session_layer_conf(dp->sl)) {
		log_error("dataplane", "event=no_configuration");
		return NULL;
	}
	dp->tp->start(dp->t);
	while (!atomic_load(&dp->stopping)) {
		int r = loop_run_once(dp->loop, -1);
		if (r < 0) {
			log_error("dataplane", "event=epoll_failed error=%s", strerror(-r));
			break;
		}
	}
	dp->tp->stop(dp->t);
	return NULL;
}

/* A snapshot request: the caller and the call each hold a reference, so
 * that a caller that gave up never frees what the data thread writes. */
struct snapshot_query {
	atomic_int refs;
	size_t max;
	long n;
	struct session_record *rec;
};

static void query_unref(void *p)
{
	struct snapshot_query *q = p;

	if (atomic_fetch_sub(&q->refs, 1) > 1)
		return;
	free(q->rec);
	free(q);
}

static void snapshot_call(void *owner, void *arg)
{
	struct dataplane *dp = owner;
	struct snapshot_query *q = arg;

	q->n = (long)session_snapshot(dp->sl, q->rec, q->max);
}

long dp_sessions(struct dataplane *dp, struct session_record *out, size_t max, int timeout_ms)
{
	struct snapshot_query *q;
	long n = -1;

	if (!dp->started)
		return -1;
	q = xcalloc(1, sizeof(*q));
	atomic_init(&q->refs, 2);
	q->max = max;
	q->n = -1;
	q->rec = xcalloc(max ? max : 1, sizeof(*q->rec));
	if (mailbox_call(&dp->mb, snapshot_call, q, query_unref, timeout_ms) == 0 && q->n >= 0) {
		n = q->n;
		memcpy(out, q->rec, (n < (long)max ? (size_t)n : max) * sizeof(*out));
	}
	query_unref(q);
	return n;
}

/* ---- life cycle ---------------------------------------------------------------- */

void dp_set_events(struct dataplane *dp, const struct session_events *ev)
{
	session_layer_set_events(dp->sl, ev);
}

struct dataplane *dp_new(struct tunnel_stats *stats)
{
	struct dataplane *dp = xcalloc(1, sizeof(*dp));

	dp->stats = stats;
	if (mailbox_init(&dp->mb) < 0)
		abort();
	dp->loop = loop_new();
	loop_set_before(dp->loop, clear_tls_errors);
	loop_add_mailbox(dp->loop, &dp->mb, dp);
	dp->sl = session_layer_new(dp->loop, stats);
	dp->listen_h.fn = on_listen;
	dp->accept_timer.fn = accept_resume;
	dp->reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	atomic_store(&stats->state, TUNNEL_DOWN);
	dp->comp = (struct component){
		.name = "tunnel",
		.prepare = dp_prepare,
		.commit = dp_commit,
		.revert = dp_revert,
		.abort = dp_abort,
		.ctx = dp,
	};
	return dp;
}

const struct component *dp_component(struct dataplane *dp)
{
	return &dp->comp;
}

int dp_start(struct dataplane *dp)
{
	int r = pthread_create(&dp->thread, NULL, dp_main, dp);

	if (r != 0)
		return -r;
	dp->started = true;
	return 0;
}

void dp_stop(struct dataplane *dp)
{
	if (!dp->started)
		return;
	atomic_store(&dp->stopping, true);
	mailbox_wake(&dp->mb);
	pthread_join(dp->thread, NULL);
	dp->started = false;
}

void dp_free(struct dataplane *dp)
{
	if (!dp)
		return;
	dp_stop(dp);
	loop_remove_mailbox(dp->loop, &dp->mb);
	mailbox_destroy(&dp->mb); /* drops what was never installed */
	if (dp->listening)
		dpconf_listener_unref(dp->listening);
	session_layer_free(dp->sl);
	if (dp->tp)
		dp->tp->destroy(dp->t);
	loop_free(dp->loop); /* runs the deferred frees */
	dpconf_unref(dp->ctl_live);
	if (dp->reserve_fd >= 0)
		close(dp->reserve_fd);
	free(dp);
}
