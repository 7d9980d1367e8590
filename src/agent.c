/* SPDX-License-Identifier: MIT */
/*
 * agent.c - the SNMP thread: Net-SNMP's agent library as an AgentX
 * subagent of the host's snmpd.
 *
 * Every libnetsnmp call is made on this one thread.  The library is
 * initialised once, the first time monitor.snmp_enabled is true, and never
 * again (re-initialising it in one process is broken in 5.9.3): turning
 * SNMP off unregisters the subtree, turning it on registers it again.  The
 * library reconnects to snmpd by itself (AgentX ping every
 * monitor.agentx_ping_s, taken from the next (re)connect); this file only
 * logs one line per state change and keeps every synchronous AgentX call
 * short (1 s to open, 500 ms afterwards, no retries), because a hung master
 * blocks them.  Alarms run from this thread's poll loop, never from
 * SIGALRM.  Net-SNMP's own log lines go into ours (subsys=netsnmp).
 *
 * The control thread reaches this thread only by storing the wanted state
 * in atomics, queueing notifications, and writing an eventfd; it never
 * waits for it.  It must never call into the engine except through
 * engine_call() (mib.c does, with a time limit).
 */
#include "agent.h"

#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <syslog.h>
#include <unistd.h>

#include <net-snmp/net-snmp-config.h>
#include <net-snmp/net-snmp-includes.h>
#include <net-snmp/agent/net-snmp-agent-includes.h>
#include <net-snmp/agent/agent_callbacks.h>
#include <net-snmp/library/large_fd_set.h>

#include "config.h"
#include "log.h"
#include "mailbox.h"
#include "mib.h"
#include "reload.h"
#include "session.h"
#include "util.h"

#define AGENT_NAME "sssonector"
#define OPEN_TIMEOUT_S 1           /* the AgentX Open (library default timeout) */
#define SESSION_TIMEOUT_US 500000  /* every synchronous call after that */
#define MAX_NOTES 64
#define MAX_FDS 64
#define HELD_NOTES 8
#define AGENTX_DUPLICATE_REGISTRATION 263 /* RFC 2741 duplicateRegistration */
/* A flapping peer: up/down notifications per peer, FLAP_BURST at once,
 * then one every FLAP_EVERY_MS (as the MIB's DESCRIPTIONs say). */
#define FLAP_KEYS 256
#define FLAP_BURST 4
#define FLAP_EVERY_MS 30000u

struct flap {
	char key[64];     /* the peer's name, else its address */
	uint64_t last_ms; /* 0: a free slot */
	uint64_t credit;  /* ms; FLAP_EVERY_MS per notification */
};

struct agent {
	struct engine *e;
	struct mib *mib;
	struct component comp;
	char *socket;

	/* Wanted state, written by the control thread (component commit). */
	atomic_bool want_enabled, notifications, stop;
	atomic_int ping_s;
	pthread_mutex_t ctx_lock;
	char *want_context; /* under ctx_lock */
	/* Notifications to send, and wake-ups (the wanted state changed). */
	struct mailbox mb;
	atomic_int notes_queued;
	atomic_ulong dropped;
	struct session_events events; /* the data plane's peers, to notes */
	pthread_mutex_t flap_lock;
	struct flap flap[FLAP_KEYS];

	pthread_t thread;
	bool started;

	/* SNMP thread only. */
	bool inited, registered, register_failed, connected, disable_deferred;
	bool owned;         /* the master accepted our registration */
	bool in_register;   /* inside mib_register: a refusal is ours */
	bool at_root;       /* the registration on its way is our subtree's */
	long reg_error;     /* the master's error for our registration (0: none) */
	bool lost;          /* a re-registration after a reconnect was refused */
	bool conflict;      /* another subagent has the subtree in our context */
	uint64_t retry_at;  /* when to try registering again (conflict) */
	bool in_init; /* init_snmp(): the library's MIB-loading chatter goes to debug */
	int ping_applied;
	/* Certificate notes that found no master: sent once registered (a
	 * daemon starting with an expiring certificate checks it before its
	 * AgentX session is up, and checks again only a day later). */
	struct mib_note held[HELD_NOTES];
	size_t n_held;
	char logbuf[2048];
	size_t loglen;
};

/* The agent whose thread runs the library.  Net-SNMP's callbacks get it
 * from here: the library frees callback client arguments at shutdown, so
 * they are registered with none. */
static struct agent *lib_agent;

static void wake(struct agent *a)
{
	mailbox_wake(&a->mb);
}

/* ---- the engine component: monitor.* --------------------------------- */

struct agent_staged {
	bool enabled, notifications;
	int ping;
	char *context;
};

static int comp_prepare(void *ctx, const struct config *old, const struct config *new_cfg, void **staged,
			struct cfg_errors *errs)
{
	if (old && old->monitor.snmp_enabled == new_cfg->monitor.snmp_enabled &&
	    old->monitor.notifications == new_cfg->monitor.notifications &&
	    old->monitor.agentx_ping_s == new_cfg->monitor.agentx_ping_s &&
	    strcmp(old->monitor.snmp_context, new_cfg->monitor.snmp_context) == 0)
		return 0;
	struct agent_staged *s = xmalloc(sizeof(*s));
	s->enabled = new_cfg->monitor.snmp_enabled;
	s->notifications = new_cfg->monitor.notifications;
	s->ping = new_cfg->monitor.agentx_ping_s;
	s->context = xstrdup(new_cfg->monitor.snmp_context);
	*staged = s;
	return 0;
}

/* Swap the staged values with the wanted state (commit and revert). */
static void comp_swap(void *ctx, void *staged)
{
	struct agent *a = ctx;
	struct agent_staged *s = staged, old = {
		.enabled = atomic_load(&a->want_enabled),
		.notifications = atomic_load(&a->notifications),
		.ping = atomic_load(&a->ping_s),
	};

	atomic_store(&a->want_enabled, s->enabled);
	atomic_store(&a->notifications, s->notifications);
	atomic_store(&a->ping_s, s->ping);
	pthread_mutex_lock(&a->ctx_lock);
	old.context = a->want_context;
	a->want_context = s->context;
	pthread_mutex_unlock(&a->ctx_lock);
	*s = old;
	wake(a); /* applied by the SNMP thread; nobody waits for it */
}

static void comp_abort(void *ctx, void *staged)
{
	struct agent_staged *s = staged;

	free(s->context);
	free(s);
}

/* The wanted context (a copy). */
static char *want_context(struct agent *a)
{
	pthread_mutex_lock(&a->ctx_lock);
	char *c = xstrdup(a->want_context ? a->want_context : "");
	pthread_mutex_unlock(&a->ctx_lock);
	return c;
}

/* ---- notifications ---------------------------------------------------- */

/* On the SNMP thread: send one queued note, or drop it when there is
 * nobody to send it to. */
static void send_note(void *owner, void *arg)
{
	struct agent *a = owner;
	const struct mib_note *n = arg;

	atomic_fetch_sub(&a->notes_queued, 1);
	if (!(a->connected && a->registered && atomic_load(&a->notifications))) {
		if (n->kind == MIB_NOTE_CERT && atomic_load(&a->notifications)) {
			if (a->n_held == HELD_NOTES)
				memmove(a->held, a->held + 1, (HELD_NOTES - 1) * sizeof(a->held[0]));
			a->held[a->n_held < HELD_NOTES ? a->n_held++ : HELD_NOTES - 1] = *n;
			return;
		}
		atomic_fetch_add(&a->dropped, 1);
		return;
	}
	mib_send_note(a->mib, n);
	log_debug("snmp", "event=notification name=%s", mib_note_name(n));
}

/* From any thread: at most MAX_NOTES wait; more are dropped (counted). */
static void queue_note(struct agent *a, const struct mib_note *n)
{
	if (atomic_fetch_add(&a->notes_queued, 1) >= MAX_NOTES) {
		atomic_fetch_sub(&a->notes_queued, 1);
		atomic_fetch_add(&a->dropped, 1);
		return;
	}
	struct mib_note *copy = xmalloc(sizeof(*copy));
	*copy = *n;
	mailbox_post(&a->mb, send_note, copy, free);
}

/* The engine observer (control thread): every counted attempt but
 * startup and unchanged ones. */
static void observe(void *ctx, const struct reload_event *ev)
{
	struct agent *a = ctx;
	struct mib_note n = { .source = ev->source, .result = ev->result, .version = ev->version };

	if (ev->kind != RELOAD_EV_DONE)
		return;
	mib_note_attempt(a->mib, ev);
	if (ev->source == RELOAD_SRC_STARTUP || ev->result == RELOAD_UNCHANGED)
		return;
	if (!atomic_load(&a->notifications) || !atomic_load(&a->want_enabled))
		return;
	size_t len = mib_utf8_cut(ev->error ? ev->error : "", sizeof(n.error) - 1);
	memcpy(n.error, ev->error ? ev->error : "", len);
	n.error[len] = '\0';
	queue_note(a, &n);
}

/* Whether a notification about the peer key may go now (any thread). */
static bool flap_allow(struct agent *a, const char *key, uint64_t now)
{
	const uint64_t cap = FLAP_BURST * (uint64_t)FLAP_EVERY_MS;
	struct flap *f = NULL, *oldest = &a->flap[0];
	bool ok;

	pthread_mutex_lock(&a->flap_lock);
	for (size_t i = 0; i < FLAP_KEYS && !f; i++) {
		if (a->flap[i].last_ms && strcmp(a->flap[i].key, key) == 0)
			f = &a->flap[i];
		else if (a->flap[i].last_ms < oldest->last_ms)
			oldest = &a->flap[i];
	}
	if (!f) {
		f = oldest; /* a free slot, or the peer heard of longest ago */
		snprintf(f->key, sizeof(f->key), "%s", key);
		f->credit = cap;
	} else {
		f->credit = f->credit + (now - f->last_ms) > cap ? cap : f->credit + (now - f->last_ms);
	}
	f->last_ms = now ? now : 1;
	ok = f->credit >= FLAP_EVERY_MS;
	if (ok)
		f->credit -= FLAP_EVERY_MS;
	pthread_mutex_unlock(&a->flap_lock);
	return ok;
}

/* sssNotifyReason of a session's close. */
static int note_reason(enum session_close why)
{
	switch (why) {
	case SESSION_CLOSE_DONE: return 1;
	case SESSION_CLOSE_KEEPALIVE: return 2;
	case SESSION_CLOSE_IDLE: return 3;
	case SESSION_CLOSE_REVOKED: return 4;
	case SESSION_CLOSE_EXPIRED: return 5;
	case SESSION_CLOSE_REFUSED: return 6;
	case SESSION_CLOSE_REPLACED: return 7;
	case SESSION_CLOSE_STOPPING: return 9;
	default: return 8; /* error */
	}
}

/* A session came up or closed (data-plane thread). */
static void session_note(struct agent *a, enum mib_note_kind kind, const struct session_record *r, bool up,
			 enum session_close why)
{
	struct mib_note n = { .kind = kind, .up = up, .reason = note_reason(why), .id = (uint32_t)r->id };
	char key[64];

	if (!atomic_load(&a->notifications) || !atomic_load(&a->want_enabled))
		return;
	mib_peer_address(&r->remote, &n.family, n.addr, &n.port);
	if (r->name[0])
		snprintf(key, sizeof(key), "%s", r->name);
	else if (!inet_ntop(n.family ? n.family : AF_INET, n.addr, key, sizeof(key)))
		snprintf(key, sizeof(key), "-");
	if (!flap_allow(a, key, now_ms())) {
		mib_note_suppressed(a->mib);
		return;
	}
	snprintf(n.name, sizeof(n.name), "%s", r->name);
	snprintf(n.subject, sizeof(n.subject), "%s", r->subject);
	snprintf(n.tun_address, sizeof(n.tun_address), "%s", r->tun_address);
	queue_note(a, &n);
}

static void on_peer(void *ctx, const struct session_record *r, bool up, enum session_close why)
{
	session_note(ctx, MIB_NOTE_PEER, r, up, why);
}

static void on_tunnel(void *ctx, const struct session_record *r, bool up, enum session_close why)
{
	session_note(ctx, MIB_NOTE_TUNNEL, r, up, why);
}

void agent_cert_note(void *ctx, enum pki_cert_kind kind, const char *subject, time_t not_after)
{
	struct agent *a = ctx;
	struct mib_note n = { .kind = MIB_NOTE_CERT, .cert_kind = kind, .not_after = not_after };

	if (!atomic_load(&a->notifications) || !atomic_load(&a->want_enabled))
		return;
	snprintf(n.cert_subject, sizeof(n.cert_subject), "%s", subject);
	queue_note(a, &n);
}

static void on_peer_cert(void *ctx, const char *subject, int64_t not_after)
{
	agent_cert_note(ctx, PKI_CERT_PEER, subject, (time_t)not_after);
}

const struct session_events *agent_session_events(struct agent *a)
{
	return &a->events;
}

void agent_set_sessions(struct agent *a, mib_sessions_fn *fn, void *ctx)
{
	mib_set_sessions(a->mib, fn, ctx);
}

/* Send what is queued, or drop it when there is nobody to send it to;
 * the held certificate notes as soon as there is somebody. */
static void flush_notes(struct agent *a)
{
	if (a->n_held && a->connected && a->registered && atomic_load(&a->notifications)) {
		for (size_t i = 0; i < a->n_held; i++) {
			mib_send_note(a->mib, &a->held[i]);
			log_debug("snmp", "event=notification name=%s held=1", mib_note_name(&a->held[i]));
		}
		a->n_held = 0;
	}
	mailbox_run(&a->mb, a);
	unsigned long dropped = atomic_exchange(&a->dropped, 0);
	if (dropped)
		log_debug("snmp", "event=notification_dropped count=%lu connected=%d", dropped, a->connected);
}

/* ---- Net-SNMP callbacks (SNMP thread) -------------------------------------- */

/* Lines the library prints about the connection: we log state changes
 * ourselves, once. */
static bool connection_chatter(const char *msg)
{
	static const char *const chatter[] = {
		"AgentX master agent failed to respond to ping",
		"AgentX master disconnected us",
		"AgentX subagent connected",
		"Failed to connect to the agentx master agent",
	};
	for (size_t i = 0; i < sizeof(chatter) / sizeof(chatter[0]); i++)
		if (strstr(msg, chatter[i]))
			return true;
	return false;
}

/* "registering pdu failed: 263!": the master refused a registration
 * (263: duplicateRegistration, another subagent has the subtree in that
 * context).  The library only logs it; ours are the only registrations
 * this process makes. */
static void note_refusal(struct agent *a, const char *line)
{
	static const char tag[] = "registering pdu failed: ";
	const char *p = strstr(line, tag);

	/* In a new context the library also registers the context's null
	 * roots (.0, .1, .2), which the master already has: those refusals
	 * are not ours (see on_register). */
	if (!p || !a->at_root)
		return;
	long code = strtol(p + sizeof(tag) - 1, NULL, 10);
	if (a->in_register)
		a->reg_error = code ? code : -1;
	else
		a->lost = true; /* a re-registration after a reconnect */
}

static void log_line(int pri, const char *line, bool quiet)
{
	enum log_level lv = pri <= LOG_ERR ? LOG_LEVEL_ERROR : pri == LOG_WARNING ? LOG_LEVEL_WARNING
				       : pri <= LOG_INFO ? LOG_LEVEL_INFO : LOG_LEVEL_DEBUG;
	char q[1200];

	if (!*line)
		return;
	if (quiet || connection_chatter(line))
		lv = LOG_LEVEL_DEBUG;
	log_msg(lv, "netsnmp", "event=netsnmp msg=%s", log_quote(line, q, sizeof(q)));
}

/* SNMP_CALLBACK_LOGGING: the library hands out pieces of lines. */
static int on_log(int major, int minor, void *serverarg, void *clientarg)
{
	const struct snmp_log_message *slm = serverarg;
	struct agent *a = lib_agent;

	if (!slm || !slm->msg)
		return 0;
	for (const char *p = slm->msg; *p; p++) {
		if (*p == '\n' || a->loglen == sizeof(a->logbuf) - 1) {
			a->logbuf[a->loglen] = '\0';
			note_refusal(a, a->logbuf);
			log_line(slm->priority, a->logbuf, a->in_init);
			a->loglen = 0;
			if (*p == '\n')
				continue;
		}
		a->logbuf[a->loglen++] = *p;
	}
	return 0;
}

/* SNMPD_CALLBACK_REGISTER_OID, before the AgentX subagent's own callback
 * sends the Register PDU: which registration the master is about to
 * answer, so that a refusal is pinned on the right one. */
static int on_register(int major, int minor, void *serverarg, void *clientarg)
{
	const struct register_parameters *p = serverarg;
	static const oid root[] = { MIB_ROOT };

	lib_agent->at_root = p && p->namelen == MIB_ROOT_LEN && !snmp_oid_compare(p->name, p->namelen, root, MIB_ROOT_LEN);
	return 0;
}

static int on_connect(int major, int minor, void *serverarg, void *clientarg)
{
	struct agent *a = lib_agent;
	netsnmp_session *s = serverarg;

	if (s) {
		/* Keep the synchronous calls (ping, register) short. */
		s->timeout = SESSION_TIMEOUT_US;
		s->retries = 0;
	}
	if (!a->connected)
		log_info("snmp", "event=agentx state=connected socket=%s ping_s=%d", a->socket,
			 netsnmp_ds_get_int(NETSNMP_DS_APPLICATION_ID, NETSNMP_DS_AGENT_AGENTX_PING_INTERVAL));
	a->connected = true;
	return 0;
}

static int on_disconnect(int major, int minor, void *serverarg, void *clientarg)
{
	struct agent *a = lib_agent;

	if (a->connected)
		log_warning("snmp", "event=agentx state=disconnected socket=%s retry_s=%d", a->socket,
			    netsnmp_ds_get_int(NETSNMP_DS_APPLICATION_ID, NETSNMP_DS_AGENT_AGENTX_PING_INTERVAL));
	a->connected = false;
	return 0;
}

/* ---- the thread -------------------------------------------------------------- */

/* Why the master's socket cannot be reached: connect to it ourselves (a
 * Unix socket only; the library keeps its reason to itself).  Returns an
 * errno, or 0 when the connect works or cannot be tried. */
static int probe_socket(const char *spec)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	const char *path = strncmp(spec, "unix:", 5) == 0 ? spec + 5 : spec;
	int fd, err = 0;

	if (path[0] != '/' || strlen(path) >= sizeof(sun.sun_path))
		return 0;
	memcpy(sun.sun_path, path, strlen(path));
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return errno;
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0)
		err = errno;
	close(fd);
	return err;
}

/* One line for a master we could not reach, with the reason. */
static void log_unreachable(struct agent *a)
{
	int err = probe_socket(a->socket);

	if (err == EACCES)
		log_warning("snmp", "event=agentx state=disconnected socket=%s retry_s=%d error=\"%s\" "
			    "hint=\"the daemon's user needs search permission on the socket's directory "
			    "and write permission on the socket (agentXPerms; group Debian-snmp)\"",
			    a->socket, a->ping_applied, strerror(err));
	else
		log_warning("snmp", "event=agentx state=disconnected socket=%s retry_s=%d error=\"%s\"",
			    a->socket, a->ping_applied, err ? strerror(err) : "the master did not accept the session");
}

static void lib_init(struct agent *a)
{
	lib_agent = a;
	snmp_register_callback(SNMP_CALLBACK_LIBRARY, SNMP_CALLBACK_LOGGING, on_log, NULL);
	snmp_enable_calllog();
	netsnmp_ds_set_boolean(NETSNMP_DS_LIBRARY_ID, NETSNMP_DS_LIB_ALARM_DONT_USE_SIG, 1);
	netsnmp_ds_set_boolean(NETSNMP_DS_LIBRARY_ID, NETSNMP_DS_LIB_DONT_READ_CONFIGS, 1);
	netsnmp_ds_set_boolean(NETSNMP_DS_LIBRARY_ID, NETSNMP_DS_LIB_DONT_PERSIST_STATE, 1);
	netsnmp_ds_set_boolean(NETSNMP_DS_LIBRARY_ID, NETSNMP_DS_LIB_DISABLE_PERSISTENT_LOAD, 1);
	netsnmp_ds_set_boolean(NETSNMP_DS_LIBRARY_ID, NETSNMP_DS_LIB_DISABLE_PERSISTENT_SAVE, 1);
	netsnmp_ds_set_boolean(NETSNMP_DS_APPLICATION_ID, NETSNMP_DS_AGENT_ROLE, 1); /* subagent */
	netsnmp_ds_set_string(NETSNMP_DS_APPLICATION_ID, NETSNMP_DS_AGENT_X_SOCKET, a->socket);
	init_agent(AGENT_NAME);
	/* init_agent() resets these: set them after it. */
	a->ping_applied = atomic_load(&a->ping_s);
	netsnmp_ds_set_int(NETSNMP_DS_APPLICATION_ID, NETSNMP_DS_AGENT_AGENTX_PING_INTERVAL, a->ping_applied);
	netsnmp_ds_set_int(NETSNMP_DS_APPLICATION_ID, NETSNMP_DS_AGENT_AGENTX_TIMEOUT, 1 * ONE_SEC);
	netsnmp_ds_set_int(NETSNMP_DS_APPLICATION_ID, NETSNMP_DS_AGENT_AGENTX_RETRIES, 0);
	netsnmp_ds_set_boolean(NETSNMP_DS_APPLICATION_ID, NETSNMP_DS_AGENT_NO_CONNECTION_WARNINGS, 1);
	netsnmp_ds_set_int(NETSNMP_DS_LIBRARY_ID, NETSNMP_DS_LIB_TIMEOUT, OPEN_TIMEOUT_S);
	netsnmp_ds_set_int(NETSNMP_DS_LIBRARY_ID, NETSNMP_DS_LIB_RETRIES, 0);
	snmp_register_callback(SNMP_CALLBACK_APPLICATION, SNMPD_CALLBACK_INDEX_START, on_connect, NULL);
	netsnmp_register_callback(SNMP_CALLBACK_APPLICATION, SNMPD_CALLBACK_REGISTER_OID, on_register, NULL,
				  NETSNMP_CALLBACK_HIGHEST_PRIORITY);
	snmp_register_callback(SNMP_CALLBACK_APPLICATION, SNMPD_CALLBACK_INDEX_STOP, on_disconnect, NULL);
	/* The daemon uses numeric OIDs only: load no MIB files. */
	netsnmp_ds_set_string(NETSNMP_DS_LIBRARY_ID, NETSNMP_DS_LIB_MIBDIRS, "");
	a->in_init = true;
	init_snmp(AGENT_NAME); /* connects (or arms the retry alarm) */
	a->in_init = false;
	a->inited = true;
	if (!a->connected)
		log_unreachable(a);
}

/* Run register (mib_register or mib_reregister) and tell what the
 * master said: 0, or its error (263: another subagent has it). */
static long master_says(struct agent *a, int (*reg)(struct mib *))
{
	a->reg_error = 0;
	a->in_register = true;
	int r = reg(a->mib);
	a->in_register = false;
	return r < 0 ? -1 : a->reg_error;
}

static int reregister(struct mib *m)
{
	mib_reregister(m);
	return 0;
}

/* The master accepted our registration. */
static void owned(struct agent *a)
{
	char q[80];

	a->owned = true;
	mib_sysor(a->mib, true);
	log_info("snmp", "event=snmp state=enabled subtree=%s context=%s%s", mib_root_text(),
		 log_quote(mib_context(a->mib), q, sizeof(q)), a->conflict ? " after=conflict" : "");
	a->conflict = false;
	a->retry_at = 0;
}

/* Another subagent has the subtree in our context: one error line, then
 * a Register again every ping_s, so the subtree is taken over when its
 * owner leaves.  Never an Unregister meanwhile (see mib_unregister). */
static void conflict(struct agent *a, int ping, const char *why)
{
	char q[80];

	if (!a->conflict)
		log_error("snmp", "event=snmp state=conflict subtree=%s context=%s error=\"%s\" action=retry every_s=%d",
			  mib_root_text(), log_quote(mib_context(a->mib), q, sizeof(q)), why, ping);
	a->conflict = true;
	a->owned = false;
	a->retry_at = now_ms() + (uint64_t)ping * 1000;
}

#define CONFLICT_TEXT "another subagent already serves this subtree in this context (a second sssonector? " \
		      "give each its own monitor.snmp_context)"

/* Bring the library to the wanted state.  Registrations change only
 * between SET transactions (the master keeps pointers into ours). */
static void sync_state(struct agent *a)
{
	bool want = atomic_load(&a->want_enabled);
	int ping = atomic_load(&a->ping_s);
	char *context = NULL, q[80];

	if (want && !a->inited)
		lib_init(a);
	if (!a->inited)
		return;
	if (ping != a->ping_applied) {
		netsnmp_ds_set_int(NETSNMP_DS_APPLICATION_ID, NETSNMP_DS_AGENT_AGENTX_PING_INTERVAL, ping);
		a->ping_applied = ping;
		log_info("snmp", "event=agentx ping_s=%d applies=next_connect", ping);
	}
	if (a->lost && a->registered) {
		/* a reconnect: the master gave the subtree to another meanwhile */
		a->lost = false;
		mib_sysor(a->mib, false);
		conflict(a, ping, "another subagent took this subtree in this context while the master was away");
	}
	context = want_context(a);
	if (a->registered && (!want || strcmp(context, mib_context(a->mib)) != 0)) {
		if (mib_set_in_progress(a->mib)) {
			if (!a->disable_deferred)
				log_info("snmp", "event=snmp state=change_deferred reason=set_in_progress");
			a->disable_deferred = true;
			goto out;
		}
		if (a->owned) {
			mib_sysor(a->mib, false);
			mib_unregister(a->mib);
		} else {
			mib_forget(a->mib);
		}
		a->registered = a->owned = a->conflict = false;
		a->disable_deferred = false;
		a->retry_at = 0;
		if (!want)
			log_info("snmp", "event=snmp state=disabled");
		else
			log_info("snmp", "event=snmp state=moving context=%s", log_quote(context, q, sizeof(q)));
	}
	if (want && !a->registered && !a->register_failed) {
		mib_set_context(a->mib, context);
		long e = master_says(a, mib_register);
		if (e < 0) {
			a->register_failed = true;
			log_error("snmp", "event=snmp state=failed error=\"cannot register the subtree\"");
		} else {
			a->registered = true;
			if (e == AGENTX_DUPLICATE_REGISTRATION)
				conflict(a, ping, CONFLICT_TEXT);
			else if (e)
				conflict(a, ping, "the master refused the registration");
			else
				owned(a);
		}
	} else if (want && a->registered && a->conflict && now_ms() >= a->retry_at) {
		if (master_says(a, reregister) == 0)
			owned(a);
		else
			a->retry_at = now_ms() + (uint64_t)ping * 1000;
	}
	if (!want)
		a->register_failed = false;
	else
		a->disable_deferred = false;
out:
	a->lost = false;
	free(context);
}

/* Wait for the wake-up fd, the library's sockets or its next timeout,
 * then let the library do its work. */
static void wait_and_process(struct agent *a)
{
	struct pollfd pfd[MAX_FDS];
	nfds_t n = 0;
	int timeout = -1;
	netsnmp_large_fd_set fds;

	pfd[n++] = (struct pollfd){ .fd = mailbox_fd(&a->mb), .events = POLLIN };
	if (a->inited) {
		int maxfd = 0, block = 1;
		struct timeval tv = { 0 };
		netsnmp_large_fd_set_init(&fds, FD_SETSIZE);
		snmp_select_info2(&maxfd, &fds, &tv, &block);
		for (int fd = 0; fd < maxfd && n < MAX_FDS; fd++)
			if (NETSNMP_LARGE_FD_ISSET(fd, &fds))
				pfd[n++] = (struct pollfd){ .fd = fd, .events = POLLIN };
		if (!block)
			timeout = (int)(tv.tv_sec * 1000 + (tv.tv_usec + 999) / 1000);
	}
	if (a->retry_at) {
		uint64_t now = now_ms();
		int left = a->retry_at > now ? (int)(a->retry_at - now) : 0;
		if (timeout < 0 || left < timeout)
			timeout = left;
	}
	int r = poll(pfd, n, timeout);
	if (pfd[0].revents & POLLIN)
		mailbox_run(&a->mb, a);
	if (!a->inited)
		return;
	NETSNMP_LARGE_FD_ZERO(&fds);
	bool any = false;
	for (nfds_t i = 1; r > 0 && i < n; i++)
		if (pfd[i].revents) {
			NETSNMP_LARGE_FD_SET(pfd[i].fd, &fds);
			any = true;
		}
	if (any)
		snmp_read2(&fds);
	else
		snmp_timeout(); /* requests whose time ran out */
	run_alarms();
	netsnmp_check_outstanding_agent_requests();
	netsnmp_large_fd_set_cleanup(&fds);
}

static void *agent_main(void *arg)
{
	struct agent *a = arg;

	while (!atomic_load(&a->stop)) {
		sync_state(a);
		flush_notes(a);
		wait_and_process(a);
	}
	/* No unregister here: closing the session drops our registrations in
	 * the master, and an unregister on the way out re-enters the
	 * library's callback lists (netsnmp_assert in _callback_lock). */
	a->registered = a->owned = false;
	if (a->inited) {
		/* The library logs while it clears its callback lists at
		 * shutdown; our logging callback is on one of those lists and
		 * would wait for its own lock (netsnmp_assert in
		 * _callback_lock).  Nothing it says then is worth that. */
		snmp_unregister_callback(SNMP_CALLBACK_LIBRARY, SNMP_CALLBACK_LOGGING, on_log, NULL, 1);
		snmp_disable_log();
		snmp_shutdown(AGENT_NAME); /* closes the AgentX session */
	}
	return NULL;
}

/* ---- life cycle ------------------------------------------------------------- */

struct agent *agent_new(struct engine *e, const struct tunnel_stats *ts)
{
	struct agent *a = xcalloc(1, sizeof(*a));

	a->e = e;
	a->mib = mib_new(e, ts);
	if (mailbox_init(&a->mb) < 0)
		abort();
	pthread_mutex_init(&a->ctx_lock, NULL);
	pthread_mutex_init(&a->flap_lock, NULL);
	a->events = (struct session_events){
		.peer = on_peer, .tunnel = on_tunnel, .cert = on_peer_cert, .ctx = a,
	};
	a->want_context = xstrdup("");
	atomic_init(&a->want_enabled, false);
	atomic_init(&a->notifications, false);
	atomic_init(&a->stop, false);
	atomic_init(&a->ping_s, 15);
	a->comp = (struct component){
		.name = "snmp",
		.prepare = comp_prepare,
		.commit = comp_swap,
		.revert = comp_swap,
		.abort = comp_abort,
		.ctx = a,
	};
	return a;
}

void agent_register(struct agent *a, struct engine *e)
{
	engine_register(e, &a->comp);
	engine_register(e, mib_component(a->mib));
	engine_add_observer(e, observe, a);
}

int agent_start(struct agent *a)
{
	struct config *c = engine_current(a->e);

	if (!c)
		return -1;
	a->socket = xstrdup(c->monitor.agentx_socket ? c->monitor.agentx_socket : "/var/agentx/master");
	cfg_unref(c);
	int r = pthread_create(&a->thread, NULL, agent_main, a);
	if (r != 0) {
		log_error("snmp", "event=setup_failed what=thread error=%s", strerror(r));
		return -1;
	}
	a->started = true;
	return 0;
}

void agent_publish_watch(struct agent *a, int state, uint32_t events)
{
	mib_publish_watch(a->mib, state, events);
}

void agent_free(struct agent *a)
{
	if (!a)
		return;
	if (a->started) {
		atomic_store(&a->stop, true);
		wake(a);
		pthread_join(a->thread, NULL);
	}
	mib_free(a->mib);
	mailbox_destroy(&a->mb); /* notes never sent are freed */
	pthread_mutex_destroy(&a->ctx_lock);
	pthread_mutex_destroy(&a->flap_lock);
	free(a->want_context);
	free(a->socket);
	free(a);
}
