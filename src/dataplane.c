/* SPDX-License-Identifier: MIT */
/*
 * dataplane.c - the data-plane thread and the tunnel component.
 *
 * The component (prepare/commit/revert/abort) runs on the control thread:
 * prepare builds a struct dp_conf — a TLS context when TLS material
 * changed, a bound listener when the listen address changed, resolved
 * peer addresses — and commit posts it to the data thread through a queue
 * and an eventfd.  The data thread swaps it in between two events, moves
 * the listener in its epoll set, reconfigures the buckets and lets the
 * transport react (revocation, MTU).  The data thread never waits for the
 * control thread: it only takes the queue's mutex to pop a message.
 *
 * It must never block: every socket is non-blocking, every wait is an
 * epoll interest or a timer.
 */
#include "dataplane.h"

#include <errno.h>
#include <netdb.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>

#include "config.h"
#include "log.h"
#include "net.h"
#include "reload.h"
#include "stats.h"
#include "tls.h"
#include "transport.h"

struct dp_msg {
	struct dp_conf *conf;
	struct dp_msg *next;
};

struct deferred {
	void (*fn)(void *);
	void *p;
};

struct dataplane {
	struct tunnel_stats *stats;
	struct component comp;
	struct dp_mode *mode;

	/* control thread's view: the conf it last committed */
	struct dp_conf *ctl_live;

	/* message queue, control -> data */
	pthread_mutex_t qlock;
	struct dp_msg *qhead, *qtail;
	struct dp_handler msg_h;

	/* data thread only */
	pthread_t thread;
	bool started;
	_Atomic bool stopping;
	int epfd;
	struct dp_conf *live;
	struct dp_handler listen_h;
	struct listener *listening; /* the listener registered in epoll */
	struct bucket bucket[2];
	struct dp_timer limiter_timer, rate_timer;
	struct dp_timer **heap; /* 1-based min-heap on when_ns */
	size_t heap_n, heap_cap;
	struct deferred *defer;
	size_t n_defer, cap_defer;
};

/* ---- refcounted pieces ------------------------------------------------- */

static struct listener *listener_ref(struct listener *l)
{
	if (l)
		__atomic_add_fetch(&l->refs, 1, __ATOMIC_RELAXED);
	return l;
}

static void listener_unref(struct listener *l)
{
	if (!l || __atomic_sub_fetch(&l->refs, 1, __ATOMIC_ACQ_REL) > 0)
		return;
	close(l->fd);
	free(l);
}

struct dp_conf *dp_conf_ref(struct dp_conf *c)
{
	if (c)
		__atomic_add_fetch(&c->refs, 1, __ATOMIC_RELAXED);
	return c;
}

void dp_conf_unref(struct dp_conf *c)
{
	if (!c || __atomic_sub_fetch(&c->refs, 1, __ATOMIC_ACQ_REL) > 0)
		return;
	listener_unref(c->listener);
	tls_ctx_unref(c->tls);
	cfg_unref(c->cfg);
	free(c);
}

/* ---- the component (control thread) ------------------------------------ */

struct dp_staged {
	struct dp_conf *conf;     /* what prepare built */
	struct dp_conf *replaced; /* after commit: what it replaced */
};

static bool blob_equal(const struct cfg_blob *a, const struct cfg_blob *b)
{
	return a->len == b->len && (a->len == 0 || !memcmp(a->data, b->data, a->len));
}

/* The settings whose change needs a new TLS context. */
static bool tls_changed(const struct config *a, const struct config *b)
{
	static const char *const keys[] = {
		"tunnel.cert_file", "tunnel.key_file", "tunnel.ca_file", "tunnel.key_password",
		"tunnel.tls_min_version", "tunnel.allowed_peers", "tunnel.server_name",
	};

	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (!cfg_value_equal(a, b, cfg_setting_find(keys[i])))
			return true;
	return !blob_equal(&a->cert, &b->cert) || !blob_equal(&a->key, &b->key) ||
	       !blob_equal(&a->ca, &b->ca);
}

/* The address this end listens on, and the key it comes from. */
static const char *listen_key(const struct config *c)
{
	if (c->mode == CFG_MODE_SERVER)
		return "tunnel.listen";
	return c->transport == CFG_TRANSPORT_FORWARD ? "forward.listen" : NULL;
}

static const char *listen_addr(const struct config *c)
{
	const char *k = listen_key(c);

	if (!k)
		return NULL;
	return !strcmp(k, "tunnel.listen") ? c->tunnel.listen : c->forward.listen;
}

static int dp_prepare(void *ctx, const struct config *old, const struct config *new_cfg,
		      void **staged, struct cfg_errors *errs)
{
	struct dataplane *dp = ctx;
	struct dp_conf *live = dp->ctl_live;
	struct dp_conf *c = xcalloc(1, sizeof(*c));
	char err[256];
	int ret = -1;

	c->refs = 1;
	c->cfg = cfg_ref((struct config *)new_cfg);

	if (live && !tls_changed(live->cfg, new_cfg))
		c->tls = tls_ctx_ref(live->tls);
	else if (!(c->tls = tls_ctx_new(new_cfg, errs)))
		goto out;

	const char *addr = listen_addr(new_cfg);
	if (addr && live && live->listener && !strcmp(addr, listen_addr(live->cfg))) {
		c->listener = listener_ref(live->listener);
	} else if (addr) {
		int fd = net_listen(addr, err, sizeof(err));
		if (fd < 0) {
			cfg_errors_add(errs, new_cfg->path, new_cfg->line[cfg_setting_index(cfg_setting_find(listen_key(new_cfg)))],
				       listen_key(new_cfg), addr, "cannot listen: %s", err);
			goto out;
		}
		c->listener = xcalloc(1, sizeof(*c->listener));
		c->listener->refs = 1;
		c->listener->fd = fd;
		snprintf(c->listener->addr, sizeof(c->listener->addr), "%s", addr);
	}

	if (new_cfg->mode == CFG_MODE_CLIENT &&
	    net_resolve(new_cfg->tunnel.server, &c->server, &c->server_len, err, sizeof(err)) < 0) {
		cfg_errors_add(errs, new_cfg->path, 0, "tunnel.server", new_cfg->tunnel.server,
			       "cannot resolve: %s", err);
		goto out;
	}
	if (new_cfg->mode == CFG_MODE_SERVER && new_cfg->transport == CFG_TRANSPORT_FORWARD &&
	    net_resolve(new_cfg->forward.target, &c->target, &c->target_len, err, sizeof(err)) < 0) {
		cfg_errors_add(errs, new_cfg->path, 0, "forward.target", new_cfg->forward.target,
			       "cannot resolve: %s", err);
		goto out;
	}
	if (!dp->mode) {
		dp->mode = new_cfg->transport == CFG_TRANSPORT_TUN ? tunnel_mode_new() : forward_mode_new();
		if (dp->mode->setup && dp->mode->setup(dp, new_cfg, errs) < 0)
			goto out;
	}

	struct dp_staged *s = xcalloc(1, sizeof(*s));
	s->conf = c;
	c = NULL;
	*staged = s;
	ret = 0;
out:
	dp_conf_unref(c);
	return ret;
}

static void post(struct dataplane *dp, struct dp_conf *c)
{
	struct dp_msg *m = xcalloc(1, sizeof(*m));
	uint64_t one = 1;

	m->conf = dp_conf_ref(c);
	pthread_mutex_lock(&dp->qlock);
	if (dp->qtail)
		dp->qtail->next = m;
	else
		dp->qhead = m;
	dp->qtail = m;
	pthread_mutex_unlock(&dp->qlock);
	ssize_t w = write(dp->msg_h.fd, &one, sizeof(one));
	(void)w;
}

static void dp_commit(void *ctx, void *staged)
{
	struct dataplane *dp = ctx;
	struct dp_staged *s = staged;

	s->replaced = dp->ctl_live;
	dp->ctl_live = dp_conf_ref(s->conf);
	post(dp, s->conf);
}

static void dp_revert(void *ctx, void *staged)
{
	struct dataplane *dp = ctx;
	struct dp_staged *s = staged;
	struct dp_conf *undone = dp->ctl_live;

	dp->ctl_live = s->replaced;
	s->replaced = undone;
	post(dp, dp->ctl_live);
}

static void dp_abort(void *ctx, void *staged)
{
	struct dp_staged *s = staged;

	dp_conf_unref(s->conf);
	dp_conf_unref(s->replaced);
	free(s);
}

/* ---- timers: a binary min-heap, data thread only ------------------------ */

static void heap_swap(struct dataplane *dp, size_t i, size_t j)
{
	struct dp_timer *t = dp->heap[i];

	dp->heap[i] = dp->heap[j];
	dp->heap[j] = t;
	dp->heap[i]->heap_index = i;
	dp->heap[j]->heap_index = j;
}

static void heap_up(struct dataplane *dp, size_t i)
{
	while (i > 1 && dp->heap[i / 2]->when_ns > dp->heap[i]->when_ns) {
		heap_swap(dp, i, i / 2);
		i /= 2;
	}
}

static void heap_down(struct dataplane *dp, size_t i)
{
	for (;;) {
		size_t m = i, l = 2 * i, r = 2 * i + 1;
		if (l <= dp->heap_n && dp->heap[l]->when_ns < dp->heap[m]->when_ns)
			m = l;
		if (r <= dp->heap_n && dp->heap[r]->when_ns < dp->heap[m]->when_ns)
			m = r;
		if (m == i)
			return;
		heap_swap(dp, i, m);
		i = m;
	}
}

void dp_timer_cancel(struct dataplane *dp, struct dp_timer *t)
{
	size_t i = t->heap_index;

	if (!i)
		return;
	t->heap_index = 0;
	if (i != dp->heap_n) {
		dp->heap[i] = dp->heap[dp->heap_n];
		dp->heap[i]->heap_index = i;
		dp->heap_n--;
		heap_up(dp, i);
		heap_down(dp, i);
	} else {
		dp->heap_n--;
	}
}

void dp_timer_set(struct dataplane *dp, struct dp_timer *t, uint64_t when_ns)
{
	dp_timer_cancel(dp, t);
	if (dp->heap_n + 1 >= dp->heap_cap) {
		dp->heap_cap = dp->heap_cap ? dp->heap_cap * 2 : 64;
		dp->heap = xrealloc(dp->heap, dp->heap_cap * sizeof(*dp->heap));
	}
	t->when_ns = when_ns;
	dp->heap[++dp->heap_n] = t;
	t->heap_index = dp->heap_n;
	heap_up(dp, dp->heap_n);
}

uint64_t dp_now_ns(struct dataplane *dp)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void run_timers(struct dataplane *dp)
{
	uint64_t now = dp_now_ns(dp);

	while (dp->heap_n && dp->heap[1]->when_ns <= now) {
		struct dp_timer *t = dp->heap[1];
		dp_timer_cancel(dp, t);
		t->fn(dp, t);
	}
}

/* ---- the loop's services ------------------------------------------------ */

void dp_watch(struct dataplane *dp, struct dp_handler *h, uint32_t events)
{
	struct epoll_event ev = { .events = events, .data.ptr = h };

	if (events == h->events)
		return;
	if (!events)
		epoll_ctl(dp->epfd, EPOLL_CTL_DEL, h->fd, NULL);
	else if (!h->events)
		epoll_ctl(dp->epfd, EPOLL_CTL_ADD, h->fd, &ev);
	else
		epoll_ctl(dp->epfd, EPOLL_CTL_MOD, h->fd, &ev);
	h->events = events;
}

void dp_defer(struct dataplane *dp, void (*fn)(void *), void *p)
{
	if (dp->n_defer == dp->cap_defer) {
		dp->cap_defer = dp->cap_defer ? dp->cap_defer * 2 : 16;
		dp->defer = xrealloc(dp->defer, dp->cap_defer * sizeof(*dp->defer));
	}
	dp->defer[dp->n_defer].fn = fn;
	dp->defer[dp->n_defer].p = p;
	dp->n_defer++;
}

struct dp_conf *dp_conf_current(struct dataplane *dp)
{
	return dp->live;
}

struct tunnel_stats *dp_stats(struct dataplane *dp)
{
	return dp->stats;
}

void *dp_mode_priv(struct dataplane *dp)
{
	return dp->mode ? dp->mode->priv : NULL;
}

void dp_set_state(struct dataplane *dp, int state)
{
	if (atomic_load_explicit(&dp->stats->state, memory_order_relaxed) == state)
		return;
	atomic_store_explicit(&dp->stats->state, state, memory_order_relaxed);
	atomic_store_explicit(&dp->stats->state_since_ms, now_ms(), memory_order_relaxed);
}

size_t dp_allow(struct dataplane *dp, enum dp_dir d, size_t want)
{
	uint64_t wait = 0, now = dp_now_ns(dp);
	struct bucket *b = &dp->bucket[d];
	uint64_t waits = b->waits;
	size_t n = bucket_allow(b, want, now, &wait);

	if (b->waits != waits)
		atomic_fetch_add_explicit(d == DP_UP ? &dp->stats->limiter_waits_up : &dp->stats->limiter_waits_down,
					  b->waits - waits, memory_order_relaxed);
	if (!n && (!dp->limiter_timer.heap_index || dp->limiter_timer.when_ns > now + wait))
		dp_timer_set(dp, &dp->limiter_timer, now + wait);
	return n;
}

void dp_consume(struct dataplane *dp, enum dp_dir d, size_t n)
{
	bucket_consume(&dp->bucket[d], n, dp_now_ns(dp));
	atomic_fetch_add_explicit(d == DP_UP ? &dp->stats->bytes_up : &dp->stats->bytes_down, n,
				  memory_order_relaxed);
}

const char *dp_handshake_failed(struct dataplane *dp, SSL *ssl, const char *peer)
{
	tls_log_errors("handshake", peer);
	atomic_fetch_add_explicit(SSL_get_verify_result(ssl) == X509_V_ERR_APPLICATION_VERIFICATION
					  ? &dp->stats->peers_refused
					  : &dp->stats->handshake_failures,
				  1, memory_order_relaxed);
	return tls_verify_reason(ssl);
}

static void limiter_wake(struct dataplane *dp, struct dp_timer *t)
{
	if (dp->mode->unthrottled)
		dp->mode->unthrottled(dp);
}

/* Publish the measured rates once a second (they decay to 0 when idle). */
static void rate_tick(struct dataplane *dp, struct dp_timer *t)
{
	uint64_t now = dp_now_ns(dp);

	atomic_store_explicit(&dp->stats->rate_up_bps, bucket_rate_bps(&dp->bucket[DP_UP], now),
			      memory_order_relaxed);
	atomic_store_explicit(&dp->stats->rate_down_bps, bucket_rate_bps(&dp->bucket[DP_DOWN], now),
			      memory_order_relaxed);
	dp_timer_set(dp, t, now + 1000000000u);
}

static void on_listen(struct dataplane *dp, struct dp_handler *h, uint32_t events)
{
	for (int i = 0; i < 64; i++) {
		struct sockaddr_storage ss;
		socklen_t len = sizeof(ss);
		int fd = accept4(h->fd, (struct sockaddr *)&ss, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
				log_warning("dataplane", "event=accept_failed listen=%s error=%s",
					    dp->listening ? dp->listening->addr : "?", strerror(errno));
			return;
		}
		dp->mode->accept(dp, fd, (struct sockaddr *)&ss, len);
	}
}

/* Install a conf the control thread committed. */
static void install(struct dataplane *dp, struct dp_conf *c)
{
	struct dp_conf *old = dp->live;
	const struct config *cfg = c->cfg;
	uint64_t now = dp_now_ns(dp);

	dp->live = c;
	if (dp->listening != c->listener) {
		if (dp->listening) {
			/* Stop accepting now, although sessions still hold the
			 * conf (and so the socket) they came in under.  The socket
			 * stays bound: a revert can listen on it again. */
			dp_watch(dp, &dp->listen_h, 0);
			shutdown(dp->listening->fd, SHUT_RDWR);
			log_info("dataplane", "event=listener_closed listen=%s", dp->listening->addr);
			listener_unref(dp->listening);
		}
		dp->listening = listener_ref(c->listener);
		if (dp->listening) {
			if (listen(dp->listening->fd, 128) < 0)
				log_error("dataplane", "event=listen_failed listen=%s error=%s",
					  dp->listening->addr, strerror(errno));
			dp->listen_h.fd = dp->listening->fd;
			dp->listen_h.events = 0;
			dp_watch(dp, &dp->listen_h, EPOLLIN);
			log_info("dataplane", "event=listening listen=%s", dp->listening->addr);
		}
	}
	bucket_configure(&dp->bucket[DP_UP], cfg->throttle.enabled, (uint32_t)cfg->tunnel.upload_kbps,
			 (uint32_t)cfg->throttle.burst_ms, now);
	bucket_configure(&dp->bucket[DP_DOWN], cfg->throttle.enabled,
			 (uint32_t)cfg->tunnel.download_kbps, (uint32_t)cfg->throttle.burst_ms, now);
	if (old && dp->mode->swapped)
		dp->mode->swapped(dp, old, c);
	/* A new rate may let waiting sessions go on at once. */
	if (old && dp->mode->unthrottled)
		dp->mode->unthrottled(dp);
	dp_conf_unref(old);
}

static void on_msg(struct dataplane *dp, struct dp_handler *h, uint32_t events)
{
	uint64_t n;
	ssize_t r = read(h->fd, &n, sizeof(n));
	(void)r;

	for (;;) {
		pthread_mutex_lock(&dp->qlock);
		struct dp_msg *m = dp->qhead;
		if (m) {
			dp->qhead = m->next;
			if (!dp->qhead)
				dp->qtail = NULL;
		}
		pthread_mutex_unlock(&dp->qlock);
		if (!m)
			return;
		install(dp, m->conf);
		free(m);
	}
}

static void *dp_main(void *arg)
{
	struct dataplane *dp = arg;
	struct epoll_event evs[64];

	on_msg(dp, &dp->msg_h, 0);
	if (!dp->live) {
		log_error("dataplane", "event=no_configuration");
		return NULL;
	}
	dp->mode->start(dp);
	rate_tick(dp, &dp->rate_timer);
	while (!atomic_load(&dp->stopping)) {
		int timeout = -1;
		if (dp->heap_n) {
			uint64_t now = dp_now_ns(dp), when = dp->heap[1]->when_ns;
			timeout = when <= now ? 0 : (int)((when - now + 999999) / 1000000);
		}
		int n = epoll_wait(dp->epfd, evs, 64, timeout);
		if (n < 0 && errno != EINTR) {
			log_error("dataplane", "event=epoll_failed error=%s", strerror(errno));
			break;
		}
		for (int i = 0; i < n; i++) {
			struct dp_handler *h = evs[i].data.ptr;
			/* SSL_get_error() reads the thread's error queue: what one
			 * session left there must not fail the next one. */
			ERR_clear_error();
			if (h)
				h->fn(dp, h, evs[i].events);
		}
		ERR_clear_error();
		run_timers(dp);
		for (size_t i = 0; i < dp->n_defer; i++)
			dp->defer[i].fn(dp->defer[i].p);
		dp->n_defer = 0;
	}
	dp->mode->stop(dp);
	for (size_t i = 0; i < dp->n_defer; i++)
		dp->defer[i].fn(dp->defer[i].p);
	dp->n_defer = 0;
	return NULL;
}

/* ---- life cycle --------------------------------------------------------- */

struct dataplane *dp_new(struct tunnel_stats *stats)
{
	struct dataplane *dp = xcalloc(1, sizeof(*dp));
	uint64_t now;

	dp->stats = stats;
	pthread_mutex_init(&dp->qlock, NULL);
	dp->epfd = epoll_create1(EPOLL_CLOEXEC);
	dp->msg_h.fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (dp->epfd < 0 || dp->msg_h.fd < 0)
		abort();
	dp->msg_h.fn = on_msg;
	dp_watch(dp, &dp->msg_h, EPOLLIN);
	dp->listen_h.fn = on_listen;
	dp->limiter_timer.fn = limiter_wake;
	dp->rate_timer.fn = rate_tick;
	now = dp_now_ns(dp);
	bucket_init(&dp->bucket[DP_UP], now);
	bucket_init(&dp->bucket[DP_DOWN], now);
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
	uint64_t one = 1;
	ssize_t w = write(dp->msg_h.fd, &one, sizeof(one));
	(void)w;
	pthread_join(dp->thread, NULL);
	dp->started = false;
}

void dp_free(struct dataplane *dp)
{
	if (!dp)
		return;
	dp_stop(dp);
	on_msg(dp, &dp->msg_h, 0); /* drop what was never installed */
	if (dp->listening)
		listener_unref(dp->listening);
	dp_conf_unref(dp->live);
	dp_conf_unref(dp->ctl_live);
	if (dp->mode && dp->mode->free)
		dp->mode->free(dp->mode);
	close(dp->msg_h.fd);
	close(dp->epfd);
	free(dp->heap);
	free(dp->defer);
	pthread_mutex_destroy(&dp->qlock);
	free(dp);
}
