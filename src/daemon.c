/* SPDX-License-Identifier: MIT */
/*
 * daemon.c - the control thread.
 *
 * Owns the engine and the components that exist in the core (logging, the
 * file watch), turns signals into engine calls through a signalfd, and
 * runs engine_call() requests from other threads.  Signals are blocked
 * before any thread exists, so only the signalfd ever sees them; a signal
 * never does work in a handler.  This loop never blocks on anything but
 * poll().
 */
#include "daemon.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <time.h>
#include <pthread.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libconfig.h>

#include "agent.h"
#include "certwatch.h"
#include "config.h"
#include "dataplane.h"
#include "log.h"
#include "notify.h"
#include "privs.h"
#include "reload.h"
#include "state.h"
#include "stats.h"
#include "watch.h"
#include "writeback.h"

/* ---- the logging component ------------------------------------------- */

struct log_staged {
	enum log_level level, replaced;
};

static int log_prepare(void *ctx, const struct config *old, const struct config *new_cfg,
		       void **staged, struct cfg_errors *errs)
{
	if (old && old->logging.level == new_cfg->logging.level)
		return 0;
	struct log_staged *s = xmalloc(sizeof(*s));
	s->level = (enum log_level)new_cfg->logging.level;
	*staged = s;
	return 0;
}

static void log_commit(void *ctx, void *staged)
{
	struct log_staged *s = staged;

	s->replaced = log_get_level();
	log_set_level(s->level);
}

static void log_revert(void *ctx, void *staged)
{
	struct log_staged *s = staged;

	log_set_level(s->replaced);
}

static void log_abort(void *ctx, void *staged)
{
	free(staged);
}

static const struct component log_component = {
	.name = "logging",
	.prepare = log_prepare,
	.commit = log_commit,
	.revert = log_revert,
	.abort = log_abort,
};

/* ---- pidfile ---------------------------------------------------------- */

/*
 * Open path for the process id without following a symlink, refuse a file
 * that is not a regular file of ours or that a running daemon holds (an
 * flock), and only then truncate and write it.  Returns the descriptor
 * (kept open: the lock lives as long as the daemon), or -1 with the reason
 * in err.
 */
static int pidfile_open(const char *path, char *err, size_t len)
{
	char buf[32];
	struct stat st;
	int fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0644);

	if (fd < 0) {
		snprintf(err, len, "%s", errno == ELOOP ? "is a symbolic link" : strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		snprintf(err, len, "is not a regular file");
		goto bad;
	}
	if (st.st_uid != geteuid()) {
		snprintf(err, len, "belongs to uid %u, not to this daemon's uid %u", (unsigned)st.st_uid,
			 (unsigned)geteuid());
		goto bad;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
		buf[n > 0 ? n : 0] = '\0';
		buf[strcspn(buf, "\n")] = '\0';
		snprintf(err, len, "is held by a running daemon (pid %s)", *buf ? buf : "?");
		goto bad;
	}
	int n = snprintf(buf, sizeof(buf), "%ld\n", (long)getpid());
	if (ftruncate(fd, 0) < 0 || pwrite(fd, buf, (size_t)n, 0) != n) {
		snprintf(err, len, "cannot write: %s", strerror(errno));
		goto bad;
	}
	return fd;
bad:
	close(fd);
	return -1;
}

/* Remove the pidfile if it is still ours; when the directory does not let
 * us (we dropped root), leave it empty instead of holding a stale pid. */
static void pidfile_close(const char *path, int fd)
{
	struct stat a, b;

	if (fd < 0)
		return;
	if (fstat(fd, &a) == 0 && lstat(path, &b) == 0 && a.st_dev == b.st_dev && a.st_ino == b.st_ino &&
	    unlink(path) < 0) {
		if (ftruncate(fd, 0) < 0)
			log_debug("daemon", "event=pidfile_left path=%s error=%s", path, strerror(errno));
	}
	close(fd);
}

/* ---- the service manager (sd_notify) ------------------------------------ */

struct notifier {
	bool ready;     /* READY=1 sent once: from then on reloads are reported */
	bool reloading; /* RELOADING=1 sent, READY=1 owed */
	char note[160]; /* said in every STATUS= (e.g. started on the last good version) */
};

/* One line: the protocol separates assignments with newlines. */
/* sssPeerTable's rows (mib_sessions_fn over dp_sessions). */
static long sessions(void *ctx, struct session_record *out, size_t max, int timeout_ms)
{
	return dp_sessions(ctx, out, max, timeout_ms);
}

static void one_line(char *s)
{
	for (; *s; s++)
		if (*s == '\n' || *s == '\r')
			*s = ' ';
}

static void notify_observe(void *ctx, const struct reload_event *ev)
{
	struct notifier *n = ctx;
	char status[700];

	if (!n->ready)
		return;
	switch (ev->kind) {
	case RELOAD_EV_BEGIN:
		notify_send("RELOADING=1\nMONOTONIC_USEC=%llu", (unsigned long long)now_us());
		n->reloading = true;
		return;
	case RELOAD_EV_DONE:
		snprintf(status, sizeof(status), "version %u%s, last reload: %s (%s)%s%s", ev->version, n->note,
			 ev->result == RELOAD_APPLIED ? "applied"
			 : ev->result == RELOAD_UNCHANGED ? "unchanged" : "rejected",
			 reload_source_name(ev->source), *ev->error ? ": " : "", ev->error);
		break;
	default:
		status[0] = '\0';
		break;
	}
	one_line(status);
	if (n->reloading && *status)
		notify_send("READY=1\nSTATUS=%s", status);
	else if (n->reloading)
		notify_send("READY=1");
	else if (*status)
		notify_send("STATUS=%s", status);
	n->reloading = false;
}

/* ---- what startup needs before the file is applied ---------------------- */

struct startup {
	char *state_dir;
	enum cfg_start_invalid start_invalid;
	char *user;
};

/* A row's default as a string value (the table writes it in file syntax). */
static char *default_string(const char *key)
{
	const char *d = cfg_setting_find(key)->def;
	size_t n = strlen(d);

	return n >= 2 && d[0] == '"' ? strndup(d + 1, n - 2) : xstrdup(d);
}

/*
 * reload.state_dir, reload.start_invalid and user, which startup needs even
 * when the file is invalid: from the loaded configuration when it is valid;
 * otherwise from the file's syntax tree when it parses and the value itself
 * is valid; otherwise the defaults.
 */
static void startup_settings(const char *path, struct startup *su)
{
	struct cfg_errors errs = { 0 };
	struct config *c = NULL;
	unsigned char *text = NULL;
	size_t len;
	char *def = default_string("reload.start_invalid");

	su->start_invalid = strcmp(def, "refuse") ? CFG_START_LAST_GOOD : CFG_START_REFUSE;
	free(def);
	su->state_dir = su->user = NULL;
	if (cfg_load(path, NULL, 0, &c, &errs) == CFG_OK) {
		su->state_dir = xstrdup(c->reload.state_dir);
		su->start_invalid = c->reload.start_invalid;
		su->user = c->user ? xstrdup(c->user) : NULL;
		cfg_unref(c);
	} else if (read_file(path, CFG_FILE_MAX, &text, &len) == 0) {
		config_t lc;
		const char *v;
		char *dir = xstrdup(path), *slash = strrchr(dir, '/');
		if (slash)
			*slash = '\0';
		config_init(&lc);
		config_set_include_dir(&lc, slash ? dir : ".");
		if (config_read_string(&lc, (const char *)text)) {
			if (config_lookup_string(&lc, "reload.state_dir", &v) && v[0] == '/')
				su->state_dir = xstrdup(v);
			if (config_lookup_string(&lc, "reload.start_invalid", &v) && !strcmp(v, "refuse"))
				su->start_invalid = CFG_START_REFUSE;
			else if (config_lookup_string(&lc, "reload.start_invalid", &v) && !strcmp(v, "last-good"))
				su->start_invalid = CFG_START_LAST_GOOD;
			if (config_lookup_string(&lc, "user", &v) && *v)
				su->user = xstrdup(v);
		}
		config_destroy(&lc);
		free(dir);
		free_wiped(text, len); /* may hold tunnel.key_password */
	}
	if (!su->state_dir)
		su->state_dir = default_string("reload.state_dir");
	cfg_errors_free(&errs);
}

/* Open the state directory (given to the service user when root is about
 * to switch to it). */
static int state_setup(const char *path, const struct startup *su, const char *user, struct state **st)
{
	uid_t owner = (uid_t)-1;
	gid_t group = (gid_t)-1;
	struct sbuf warn = { 0 };
	char err[600], q[700];

	*st = NULL;
	if (user && geteuid() == 0) {
		struct passwd *pw = getpwnam(user);
		if (pw) {
			owner = pw->pw_uid;
			group = pw->pw_gid;
		}
	}
	*st = state_open(su->state_dir, path, owner, group, &warn, err, sizeof(err));
	for (char *l = warn.s, *nl; l && *l; l = nl + 1) {
		nl = strchr(l, '\n');
		*nl = '\0';
		log_warning("daemon", "event=state_damaged error=%s", log_quote(l, q, sizeof(q)));
	}
	sbuf_free(&warn);
	if (!*st) {
		log_error("daemon", "event=setup_failed what=state error=%s", log_quote(err, q, sizeof(q)));
		fprintf(stderr, "%s: reload.state_dir: %s\n", path, err);
		return -1;
	}
	return 0;
}

/* ---- the loop --------------------------------------------------------- */

static int signals_setup(sigset_t *set)
{
	struct sigaction sa = { .sa_handler = SIG_IGN };

	/* A write to a peer that went away must be an EPIPE, not a death. */
	sigaction(SIGPIPE, &sa, NULL);
	sigemptyset(set);
	sigaddset(set, SIGHUP);
	sigaddset(set, SIGINT);
	sigaddset(set, SIGTERM);
	if (pthread_sigmask(SIG_BLOCK, set, NULL) != 0)
		return -1;
	return signalfd(-1, set, SFD_NONBLOCK | SFD_CLOEXEC);
}

/* Read every pending signal.  Returns the stopping signal, or 0; sets
 * *hup when at least one SIGHUP came (several coalesce into one reload). */
static int signals_read(int sfd, bool *hup)
{
	struct signalfd_siginfo si;
	int stop = 0;

	while (read(sfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		if (si.ssi_signo == SIGHUP)
			*hup = true;
		else if (si.ssi_signo == SIGINT || si.ssi_signo == SIGTERM)
			stop = (int)si.ssi_signo;
	}
	return stop;
}

static void print_errors(const struct cfg_errors *errs)
{
	struct sbuf line = { 0 };

	for (size_t i = 0; i < errs->n; i++) {
		sbuf_reset(&line);
		cfg_error_format(&errs->v[i], &line);
		fprintf(stderr, "%s\n", sbuf_str(&line));
	}
	sbuf_free(&line);
}

static void first_error(const struct cfg_errors *errs, struct sbuf *out)
{
	if (errs->n)
		cfg_error_format(&errs->v[0], out);
}

int daemon_run(const struct daemon_opts *o)
{
	int ret = 1, sfd = -1, pidfd = -1;
	sigset_t set;
	struct engine *e = NULL;
	struct watch *w = NULL;
	struct certwatch *cw = NULL;
	struct dataplane *dp = NULL;
	struct agent *ag = NULL;
	struct state *st = NULL;
	static struct tunnel_stats tstats;
	struct reload_outcome startup = { 0 };
	struct cfg_errors errs = { 0 };
	struct startup su = { 0 };
	struct notifier nt = { 0 };
	struct config *running = NULL;
	char err[256], q[700];
	bool hup_pending = false;

	log_use_syslog(o->syslog);
	sfd = signals_setup(&set);
	if (sfd < 0) {
		log_error("daemon", "event=setup_failed what=signalfd error=%s", strerror(errno));
		goto out;
	}

	e = engine_new(o->config_path);
	w = watch_new(e);
	dp = dp_new(&tstats);
	/* Prepare order: the cheap privilege check, then what fails most
	 * often (TLS, binding). */
	engine_register(e, privs_component());
	engine_register(e, dp_component(dp));
	engine_register(e, &log_component);
	engine_register(e, watch_component(w));
	/* SNMP (AgentX): monitor.* settings, write-back, notifications. */
	ag = agent_new(e, &tstats);
	agent_register(ag, e);
	engine_add_observer(e, notify_observe, &nt);
	cw = certwatch_new(e, agent_cert_note, ag);
	dp_set_events(dp, agent_session_events(ag));
	agent_set_sessions(ag, sessions, dp);

	/* First the pidfile: a second daemon stops here, before it touches
	 * anything. */
	if (o->pidfile) {
		pidfd = pidfile_open(o->pidfile, err, sizeof(err));
		if (pidfd < 0) {
			log_error("daemon", "event=setup_failed what=pidfile path=%s error=%s", o->pidfile,
				  log_quote(err, q, sizeof(q)));
			goto out;
		}
	}
	startup_settings(o->config_path, &su);
	if (state_setup(o->config_path, &su, o->user ? o->user : su.user, &st) < 0)
		goto out;
	engine_set_state(e, st);

	if (engine_reload(e, RELOAD_SRC_STARTUP, NULL, &startup) != RELOAD_APPLIED) {
		print_errors(&startup.errors);
		if (su.start_invalid != CFG_START_LAST_GOOD)
			goto out;
		struct sbuf why = { 0 }, lg = { 0 };
		uint32_t v = engine_start_last_good(e, &errs);
		first_error(&startup.errors, &why);
		if (!v) {
			first_error(&errs, &lg);
			log_error("daemon", "event=start_failed start_invalid=last-good error=%s last_good_error=%s",
				  log_quote(sbuf_str(&why), q, sizeof(q)),
				  log_quote(sbuf_str(&lg), (char[700]){ 0 }, 700));
			fprintf(stderr, "%s: cannot start with the last good version either: %s\n", o->config_path,
				sbuf_str(&lg));
			sbuf_free(&why);
			sbuf_free(&lg);
			goto out;
		}
		log_error("daemon", "event=start_last_good version=%u config=%s error=%s", v, o->config_path,
			  log_quote(sbuf_str(&why), q, sizeof(q)));
		snprintf(nt.note, sizeof(nt.note), " (last good: %s is invalid)", o->config_path);
		sbuf_free(&why);
	}
	int stale = wb_clean_stale(o->config_path);
	if (stale > 0)
		log_info("daemon", "event=writeback_cleanup removed=%d path=%s", stale, o->config_path);
	/* Everything that needs root is open: the pidfile, the TUN device,
	 * the listeners.  No other thread exists yet. */
	running = engine_current(e);
	if (privs_drop(o->user ? o->user : running->user, running, &errs) < 0) {
		print_errors(&errs);
		goto out;
	}
	if (dp_start(dp) < 0) {
		log_error("daemon", "event=setup_failed what=dataplane_thread");
		goto out;
	}
	agent_publish_watch(ag, (int)watch_state(w), watch_events(w));
	if (agent_start(ag) < 0)
		goto out;
	log_info("daemon", "event=ready version=%u pid=%ld config=%s", engine_version(e), (long)getpid(),
		 o->config_path);
	{
		struct reload_stats rs;
		engine_stats(e, &rs);
		char status[700];
		snprintf(status, sizeof(status), "version %u%s%s%s", engine_version(e), nt.note,
			 *nt.note ? ": " : "", *nt.note ? rs.last_error : "");
		one_line(status);
		notify_send("READY=1\nSTATUS=%s\nMAINPID=%ld", status, (long)getpid());
		nt.ready = true;
	}

	for (;;) {
		struct pollfd p[3] = {
			{ .fd = sfd, .events = POLLIN },
			{ .fd = engine_call_fd(e), .events = POLLIN },
			{ .fd = watch_fd(w), .events = POLLIN },
		};
		/* While a change is held the watch waits (see below). */
		int held = engine_hold_wait(e), timeout = held ? held : watch_timeout(w, now_ms());
		int ct = certwatch_timeout(cw, time(NULL));
		if (timeout < 0 || ct < timeout)
			timeout = ct;

		if (poll(p, p[2].fd >= 0 ? 3 : 2, timeout) < 0 && errno != EINTR) {
			log_error("daemon", "event=poll_failed error=%s", strerror(errno));
			goto out;
		}
		bool hup = false;
		int stop = (p[0].revents & POLLIN) ? signals_read(sfd, &hup) : 0;
		if (stop) {
			notify_send("STOPPING=1\nSTATUS=stopping (SIG%s)", sigabbrev_np(stop));
			log_info("daemon", "event=stop signal=SIG%s", sigabbrev_np(stop));
			ret = 0;
			break;
		}
		if (hup) {
			log_info("daemon", "event=signal signal=SIGHUP");
			hup_pending = true;
		}
		if (p[1].revents & POLLIN)
			engine_run_calls(e);
		if (p[2].fd >= 0 && (p[2].revents & POLLIN))
			watch_handle(w, now_ms());
		/* No attempt of ours while an SNMP SET holds a change open. */
		if (engine_hold_wait(e))
			continue;
		if (hup_pending) {
			hup_pending = false;
			engine_reload(e, RELOAD_SRC_SIGNAL, NULL, NULL);
		}
		watch_tick(w, now_ms());
		certwatch_tick(cw, time(NULL));
		agent_publish_watch(ag, (int)watch_state(w), watch_events(w));
	}
out:
	reload_outcome_free(&startup);
	cfg_errors_free(&errs);
	cfg_unref(running);
	if (o->pidfile)
		pidfile_close(o->pidfile, pidfd);
	/* The data plane first: closing its sessions tells the agent (peer
	 * events); then the SNMP thread, before the engine goes. */
	if (dp)
		dp_stop(dp);
	agent_free(ag);
	engine_free(e);
	state_close(st);
	watch_free(w);
	certwatch_free(cw);
	dp_free(dp);
	if (sfd >= 0)
		close(sfd);
	free(su.state_dir);
	free(su.user);
	return ret;
}
