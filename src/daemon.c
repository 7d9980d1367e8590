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
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "agent.h"
#include "config.h"
#include "dataplane.h"
#include "log.h"
#include "reload.h"
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

static int pidfile_write(const char *path)
{
	char buf[32];
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

	if (fd < 0)
		return -errno;
	int n = snprintf(buf, sizeof(buf), "%ld\n", (long)getpid());
	ssize_t w = write(fd, buf, (size_t)n);
	int ret = w == n ? 0 : -EIO;
	close(fd);
	return ret;
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

int daemon_run(const struct daemon_opts *o)
{
	int ret = 1, sfd = -1;
	sigset_t set;
	struct engine *e = NULL;
	struct watch *w = NULL;
	struct dataplane *dp = NULL;
	struct agent *ag = NULL;
	static struct tunnel_stats tstats;
	struct reload_outcome startup = { 0 };
	bool pidfile_written = false, hup_pending = false;

	log_use_syslog(o->syslog);
	sfd = signals_setup(&set);
	if (sfd < 0) {
		log_error("daemon", "event=setup_failed what=signalfd error=%s", strerror(errno));
		goto out;
	}

	e = engine_new(o->config_path);
	w = watch_new(e);
	dp = dp_new(&tstats);
	/* Prepare order: what fails most often (TLS, binding) first. */
	engine_register(e, dp_component(dp));
	engine_register(e, &log_component);
	engine_register(e, watch_component(w));
	/* SNMP (AgentX): monitor.* settings, write-back, notifications. */
	ag = agent_new(e, &tstats);
	agent_register(ag, e);

	if (engine_reload(e, RELOAD_SRC_STARTUP, NULL, &startup) != RELOAD_APPLIED) {
		print_errors(&startup.errors);
		goto out;
	}
	int stale = wb_clean_stale(o->config_path);
	if (stale > 0)
		log_info("daemon", "event=writeback_cleanup removed=%d path=%s", stale, o->config_path);
	if (o->pidfile) {
		int r = pidfile_write(o->pidfile);
		if (r < 0) {
			log_error("daemon", "event=setup_failed what=pidfile path=%s error=%s", o->pidfile,
				  strerror(-r));
			goto out;
		}
		pidfile_written = true;
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

	for (;;) {
		struct pollfd p[3] = {
			{ .fd = sfd, .events = POLLIN },
			{ .fd = engine_call_fd(e), .events = POLLIN },
			{ .fd = watch_fd(w), .events = POLLIN },
		};
		/* While a change is held the watch waits (see below). */
		int held = engine_hold_wait(e), timeout = held ? held : watch_timeout(w, now_ms());

		if (poll(p, p[2].fd >= 0 ? 3 : 2, timeout) < 0 && errno != EINTR) {
			log_error("daemon", "event=poll_failed error=%s", strerror(errno));
			goto out;
		}
		bool hup = false;
		int stop = (p[0].revents & POLLIN) ? signals_read(sfd, &hup) : 0;
		if (stop) {
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
		agent_publish_watch(ag, (int)watch_state(w), watch_events(w));
	}
out:
	reload_outcome_free(&startup);
	if (pidfile_written)
		unlink(o->pidfile);
	agent_free(ag); /* stops the SNMP thread before the engine goes */
	if (dp)
		dp_stop(dp);
	engine_free(e);
	watch_free(w);
	dp_free(dp);
	if (sfd >= 0)
		close(sfd);
	return ret;
}
