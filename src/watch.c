/* SPDX-License-Identifier: MIT */
/*
 * watch.c - the file-watch trigger.
 *
 * Follows every file the running configuration is made of (the file, its
 * @includes, the certificate, key and CA) with inotify on the directories
 * that decide what those paths open: the directory of each file and of
 * every symlink met on the way to it (a Kubernetes ConfigMap swaps
 * "..data", not the file).  An event arms a debounce; when it fires, the
 * bytes on disk are fingerprinted and compared with the running snapshot's,
 * and only a difference is handed to engine_reload(RELOAD_SRC_FILE).  A
 * parse failure is reported only when two reads debounce_ms apart agree.
 *
 * It must never parse, validate or apply anything itself, never block
 * (the inotify descriptor is non-blocking, files are small), and never
 * read a clock: the time comes in as an argument from the loop.
 */

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "log.h"
#include "reload.h"
#include "watch.h"

/* The safety net: compare fingerprints this often even without events
 * (missed events, network file systems). */
#define WATCH_SAFETY_MS 30000u

#define WATCH_MASK                                                                          \
	(IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_CREATE | IN_DELETE | IN_MODIFY | \
	 IN_ATTRIB | IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR | IN_EXCL_UNLINK)
/* Events that end a write or change what a name points to. */
#define WATCH_ARMING \
	(IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE | IN_DELETE_SELF | IN_MOVE_SELF)
/* Events after which the paths must be resolved again. */
#define WATCH_RESYNC \
	(IN_CREATE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE | IN_DELETE_SELF | IN_MOVE_SELF)

/* What one configuration asks the watcher to follow. */
struct watch_set {
	char **files; /* the config file, its includes, then the named files (when set) */
	size_t *max;  /* the size limit of each (CFG_FILE_MAX, CFG_PEM_MAX) */
	size_t n_files;
	unsigned debounce_ms;
	bool enabled;
};

/* A watched directory and the names in it that matter. */
struct wdir {
	int wd;
	char *path; /* canonical */
	char **names;
	size_t n_names;
};

struct wdirs {
	struct wdir *v;
	size_t n;
};

struct watch {
	struct engine *e;
	struct component comp;
	struct watch_set *cur;
	int fd;
	struct wdirs dirs;
	uint32_t events;

	struct debounce db;
	bool kick;             /* compare once at the next tick (new file set, enabled) */
	uint64_t next_safety;  /* 0: not scheduled yet */

	bool pending;          /* a tentative parse error waits for its re-read */
	uint64_t pending_due;
	uint8_t pending_fp[SHA256_LEN];
	bool have_last;        /* the fingerprint of the last counted attempt */
	uint8_t last_fp[SHA256_LEN];

	struct config *fp_cfg; /* the running snapshot run_fp belongs to (a reference) */
	uint8_t run_fp[SHA256_LEN];

	bool missing, failed;
	char *missing_path;      /* the file that could not be read, and why */
	int missing_err;
	enum watch_state logged; /* the state last logged */
};

/* ---- debounce -------------------------------------------------------- */

void debounce_event(struct debounce *d, uint64_t now_ms, unsigned debounce_ms, bool arming)
{
	if (!arming && !d->armed)
		return;
	d->armed = true;
	d->due_ms = now_ms + debounce_ms;
}

bool debounce_due(const struct debounce *d, uint64_t now_ms)
{
	return d->armed && now_ms >= d->due_ms;
}

int debounce_timeout(const struct debounce *d, uint64_t now_ms)
{
	if (!d->armed)
		return -1;
	if (now_ms >= d->due_ms)
		return 0;
	return d->due_ms - now_ms > INT_MAX ? INT_MAX : (int)(d->due_ms - now_ms);
}

void debounce_clear(struct debounce *d)
{
	d->armed = false;
	d->due_ms = 0;
}

/* ---- sets and directories ------------------------------------------- */

static void set_free(struct watch_set *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->n_files; i++)
		free(s->files[i]);
	free(s->files);
	free(s->max);
	free(s);
}

static void set_add(struct watch_set *s, const char *path, size_t max)
{
	if (!path || !*path)
		return;
	s->files = xrealloc(s->files, (s->n_files + 1) * sizeof(*s->files));
	s->max = xrealloc(s->max, (s->n_files + 1) * sizeof(*s->max));
	s->max[s->n_files] = max;
	s->files[s->n_files++] = xstrdup(path);
}

/* The files of c in fingerprint order; see fp_running for the same order. */
static struct watch_set *set_from_config(const struct config *c)
{
	struct watch_set *s = xcalloc(1, sizeof(*s));

	s->enabled = c->reload.watch;
	s->debounce_ms = c->reload.debounce_ms < 0 ? 0 : (unsigned)c->reload.debounce_ms;
	set_add(s, c->path, CFG_FILE_MAX);
	for (size_t i = 0; i < c->n_includes; i++)
		set_add(s, c->includes[i].path, CFG_FILE_MAX);
	for (size_t i = 0; i < cfg_n_settings; i++)
		if (cfg_settings[i].flags & CFG_F_FILE)
			set_add(s, *(char *const *)(const void *)((const char *)c + cfg_settings[i].offset), CFG_PEM_MAX);
	return s;
}

static bool set_equal(const struct watch_set *a, const struct watch_set *b)
{
	if (a->enabled != b->enabled || a->debounce_ms != b->debounce_ms || a->n_files != b->n_files)
		return false;
	for (size_t i = 0; i < a->n_files; i++)
		if (strcmp(a->files[i], b->files[i]) != 0)
			return false;
	return true;
}

static void wdirs_free(struct wdirs *d)
{
	for (size_t i = 0; i < d->n; i++) {
		free(d->v[i].path);
		for (size_t j = 0; j < d->v[i].n_names; j++)
			free(d->v[i].names[j]);
		free(d->v[i].names);
	}
	free(d->v);
	d->v = NULL;
	d->n = 0;
}

static struct wdir *wdirs_by_path(struct wdirs *d, const char *path)
{
	for (size_t i = 0; i < d->n; i++)
		if (strcmp(d->v[i].path, path) == 0)
			return &d->v[i];
	return NULL;
}

static struct wdir *wdirs_by_wd(struct wdirs *d, int wd)
{
	for (size_t i = 0; i < d->n; i++)
		if (d->v[i].wd == wd)
			return &d->v[i];
	return NULL;
}

static void wdir_add_name(struct wdir *w, const char *name)
{
	for (size_t i = 0; i < w->n_names; i++)
		if (strcmp(w->names[i], name) == 0)
			return;
	w->names = xrealloc(w->names, (w->n_names + 1) * sizeof(*w->names));
	w->names[w->n_names++] = xstrdup(name);
}

static void plan_add(struct wdirs *plan, const char *dir, const char *name)
{
	struct wdir *w = wdirs_by_path(plan, dir);

	if (!w) {
		plan->v = xrealloc(plan->v, (plan->n + 1) * sizeof(*plan->v));
		w = &plan->v[plan->n++];
		*w = (struct wdir){ .wd = -1, .path = xstrdup(dir) };
	}
	wdir_add_name(w, name);
}

/*
 * Follow path the way open(2) would and record in plan the (directory,
 * name) pairs whose change would change what path opens: every symlink met
 * on the way (in its directory) and the final component.  A missing
 * component is recorded in the deepest directory that exists, so its
 * creation is seen.  Directories in plan are canonical.  Gives up quietly
 * on loops and over-long paths, keeping what it recorded.
 */
static void trace_path(struct wdirs *plan, const char *path)
{
	char done[PATH_MAX], todo[PATH_MAX], next[PATH_MAX], link[PATH_MAX];
	int hops = 0;

	if (path[0] == '/')
		strcpy(done, "/");
	else if (!getcwd(done, sizeof(done)))
		return;
	if (snprintf(todo, sizeof(todo), "%s", path) >= (int)sizeof(todo))
		return;

	char *p = todo;
	while (*p) {
		char *c = p;
		char *slash = strchr(p, '/');
		if (slash) {
			*slash = '\0';
			p = slash + 1;
		} else {
			p += strlen(p);
		}
		if (!*c || strcmp(c, ".") == 0)
			continue;
		if (strcmp(c, "..") == 0) {
			char *cut = strrchr(done, '/');
			if (cut == done)
				done[1] = '\0';
			else if (cut)
				*cut = '\0';
			continue;
		}
		bool last = !*p;
		char cand[PATH_MAX];
		struct stat st;
		if (snprintf(cand, sizeof(cand), "%s%s%s", done, strcmp(done, "/") ? "/" : "", c) >=
		    (int)sizeof(cand))
			return;
		if (lstat(cand, &st) < 0) {
			plan_add(plan, done, c);
			return;
		}
		if (S_ISLNK(st.st_mode)) {
			plan_add(plan, done, c);
			ssize_t n = readlink(cand, link, sizeof(link) - 1);
			if (n <= 0 || ++hops > 40)
				return;
			link[n] = '\0';
			if (snprintf(next, sizeof(next), "%s%s%s", link, *p ? "/" : "", p) >=
			    (int)sizeof(next))
				return;
			strcpy(todo, next);
			p = todo;
			if (link[0] == '/')
				strcpy(done, "/");
			continue;
		}
		if (last) {
			plan_add(plan, done, c);
			return;
		}
		if (!S_ISDIR(st.st_mode))
			return;
		strcpy(done, cand);
	}
}

/* ---- state ----------------------------------------------------------- */

static const char *state_name(enum watch_state s)
{
	static const char *const names[] = { "?", "watching", "file_missing", "disabled", "failed" };

	return s >= WATCH_WATCHING && s <= WATCH_FAILED ? names[s] : "?";
}

enum watch_state watch_state(const struct watch *w)
{
	if (!w->cur->enabled)
		return WATCH_DISABLED;
	if (w->failed)
		return WATCH_FAILED;
	if (w->missing)
		return WATCH_FILE_MISSING;
	return WATCH_WATCHING;
}

/* Log one line when the state changed since the last line. */
static void note_state(struct watch *w)
{
	enum watch_state s = watch_state(w);
	char q[PATH_MAX + 16];

	if (s == w->logged)
		return;
	w->logged = s;
	if (s == WATCH_FILE_MISSING)
		log_warning("watch", "event=watch state=file_missing path=%s error=\"%s\" action=keep_running",
			    log_quote(w->missing_path ? w->missing_path : "", q, sizeof(q)),
			    strerror(w->missing_err));
	else if (s != WATCH_FAILED) /* sync_dirs logged the reason already */
		log_info("watch", "event=watch state=%s files=%zu dirs=%zu", state_name(s),
			 w->cur->n_files, w->dirs.n);
}

/*
 * Make the inotify watches match the current file set: resolve every path
 * again, add the directories now needed, remove those no longer needed.
 * A failing inotify_add_watch sets the FAILED state (one log line per
 * failing sync after a good one); the rest keeps working.
 */
static void sync_dirs(struct watch *w)
{
	struct wdirs plan = { 0 }, next = { 0 };
	bool failed = false;
	char q[PATH_MAX + 16];

	if (w->fd < 0 || !w->cur->enabled) {
		wdirs_free(&w->dirs);
		return;
	}
	for (size_t i = 0; i < w->cur->n_files; i++)
		trace_path(&plan, w->cur->files[i]);
	for (size_t i = 0; i < plan.n; i++) {
		int wd = inotify_add_watch(w->fd, plan.v[i].path, WATCH_MASK);
		if (wd < 0 && errno == ENOENT)
			continue; /* gone since trace_path looked: that removal resyncs */
		if (wd < 0) {
			if (!failed && !w->failed)
				log_error("watch", "event=watch state=failed path=%s error=\"%s\"",
					  log_quote(plan.v[i].path, q, sizeof(q)), strerror(errno));
			failed = true;
			continue;
		}
		/* Two canonical paths can be one inode (bind mounts): one wd. */
		struct wdir *d = wdirs_by_wd(&next, wd);
		if (!d) {
			next.v = xrealloc(next.v, (next.n + 1) * sizeof(*next.v));
			d = &next.v[next.n++];
			*d = (struct wdir){ .wd = wd, .path = xstrdup(plan.v[i].path) };
		}
		for (size_t j = 0; j < plan.v[i].n_names; j++)
			wdir_add_name(d, plan.v[i].names[j]);
	}
	for (size_t i = 0; i < w->dirs.n; i++) {
		if (wdirs_by_wd(&next, w->dirs.v[i].wd))
			continue;
		log_debug("watch", "event=unwatch dir=%s",
			  log_quote(w->dirs.v[i].path, q, sizeof(q)));
		inotify_rm_watch(w->fd, w->dirs.v[i].wd); /* may be gone already */
	}
	for (size_t i = 0; i < next.n; i++)
		if (!wdirs_by_wd(&w->dirs, next.v[i].wd))
			log_debug("watch", "event=watch_dir dir=%s wd=%d",
				  log_quote(next.v[i].path, q, sizeof(q)), next.v[i].wd);
	wdirs_free(&w->dirs);
	wdirs_free(&plan);
	w->dirs = next;
	w->failed = failed;
	note_state(w);
}

/* Open or close the inotify descriptor to match cur->enabled. */
static void apply_set(struct watch *w)
{
	if (!w->cur->enabled) {
		if (w->fd >= 0)
			close(w->fd);
		w->fd = -1;
		wdirs_free(&w->dirs);
		debounce_clear(&w->db);
		w->pending = false;
		w->kick = false;
		w->failed = false;
		note_state(w);
		return;
	}
	if (w->fd < 0) {
		w->fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
		if (w->fd < 0) {
			if (!w->failed)
				log_error("watch", "event=watch state=failed error=\"inotify_init1: %s\"",
					  strerror(errno));
			w->failed = true;
		}
	}
	sync_dirs(w);
	w->kick = true;
	note_state(w);
}

/* ---- fingerprints ---------------------------------------------------- */

struct bytes {
	unsigned char *p;
	size_t len, cap;
};

static void bytes_add(struct bytes *b, const void *p, size_t n)
{
	if (b->len + n > b->cap) {
		b->cap = (b->len + n) * 2 + 256;
		b->p = xrealloc(b->p, b->cap);
	}
	if (n)
		memcpy(b->p + b->len, p, n);
	b->len += n;
}

/* One length-prefixed item of a fingerprint. */
static void fp_item(struct bytes *b, const void *p, size_t n)
{
	uint64_t len = n;

	bytes_add(b, &len, sizeof(len));
	bytes_add(b, p, n);
}

/*
 * The fingerprint of what a snapshot was loaded from: its file bytes, then
 * each include's, then the certificate's, key's and CA's (those set), in
 * set_from_config's order.  Two equal fingerprints mean the files hold what
 * is running.
 */
static void fp_config(const struct config *c, uint8_t out[SHA256_LEN])
{
	struct bytes b = { 0 };

	fp_item(&b, c->text, c->text_len);
	for (size_t i = 0; i < c->n_includes; i++)
		fp_item(&b, c->includes[i].blob.data, c->includes[i].blob.len);
	for (size_t i = 0; i < cfg_n_settings; i++) {
		const struct cfg_setting *s = &cfg_settings[i];
		const struct cfg_blob *f = cfg_file_blob(c, s);
		if (f && cfg_value_is_set(c, s))
			fp_item(&b, f->data, f->len);
	}
	sha256(b.p, b.len, out);
	free(b.p);
}

/* The running snapshot's fingerprint, computed once per snapshot.
 * Returns -1 before the engine has a running configuration. */
static int fp_running(struct watch *w, uint8_t out[SHA256_LEN])
{
	struct config *c = engine_current(w->e);

	if (!c)
		return -1;
	if (c != w->fp_cfg) {
		fp_config(c, w->run_fp);
		cfg_unref(w->fp_cfg);
		w->fp_cfg = c; /* keeps the reference: the pointer cannot be reused */
	} else {
		cfg_unref(c);
	}
	memcpy(out, w->run_fp, SHA256_LEN);
	return 0;
}

/*
 * Read every file of the current set and fingerprint them.  On success
 * *text and *len hold the configuration file's bytes (malloc'd, the caller
 * frees with free_wiped).  A file read_file refuses (a FIFO, a device, a
 * directory, too large) is not read: its refusal goes into the
 * fingerprint and *refused is set, so the engine gets to reject it (and
 * *text stays NULL when it is the configuration file itself).  If a file
 * cannot be read at all returns -1 and sets missing_path.
 */
static int fp_disk(struct watch *w, uint8_t out[SHA256_LEN], unsigned char **text, size_t *len,
		   bool *refused)
{
	struct bytes b = { 0 };
	int ret = -1;

	*text = NULL;
	*refused = false;
	for (size_t i = 0; i < w->cur->n_files; i++) {
		unsigned char *data;
		size_t n;
		struct stat st;
		int r = read_file_stat(w->cur->files[i], w->cur->max[i], &data, &n, &st);
		if (read_file_refused(r)) {
			/* which file was refused, and why: another one is news */
			struct { int64_t r, dev, ino, size, sec, nsec; } id = {
				r, (int64_t)st.st_dev, (int64_t)st.st_ino, st.st_size, st.st_mtim.tv_sec,
				st.st_mtim.tv_nsec
			};
			*refused = true;
			fp_item(&b, &id, sizeof(id));
			continue;
		}
		if (r < 0) {
			w->missing_err = -r;
			free(w->missing_path);
			w->missing_path = xstrdup(w->cur->files[i]);
			goto out;
		}
		fp_item(&b, data, n);
		if (i == 0) {
			*text = data;
			*len = n;
		} else {
			free_wiped(data, n);
		}
	}
	sha256(b.p, b.len, out);
	ret = 0;
out:
	if (ret < 0) {
		free_wiped(*text, *len);
		*text = NULL;
	}
	free_wiped(b.p, b.cap);
	return ret;
}

/*
 * Compare the files with the running snapshot and hand a difference to the
 * engine.  A file of the set that cannot be read (deleted, or between the
 * rm and the cp of a rotation) is not an attempt: FILE_MISSING, logged
 * once, until it is back.  A file that must not be read (not a regular
 * file, too large) is an attempt the engine rejects.
 *
 * The stability rule: bytes are handed over only when they were read
 * after a quiet period (quiet: the debounce of an event, which any write
 * re-arms) or read twice, debounce_ms apart, with the same fingerprint.
 * A read without a quiet period before it (the safety net) is therefore
 * only noted, and a parse error after a quiet period is tentative (a
 * writer may have paused): both are read again debounce_ms later.  A
 * counted attempt's fingerprint is remembered so the same bytes are not
 * tried again.  May run commit() of this component (inside engine_reload),
 * which can replace cur or disable the watcher.
 */
static void check(struct watch *w, uint64_t now, const char *why, bool quiet)
{
	uint8_t fp[SHA256_LEN], run[SHA256_LEN];
	unsigned char *text = NULL;
	size_t len = 0;
	unsigned debounce_ms = w->cur->debounce_ms;
	bool refused;

	w->next_safety = now + WATCH_SAFETY_MS;
	if (!w->cur->enabled || w->cur->n_files == 0)
		return;
	sync_dirs(w);
	if (fp_disk(w, fp, &text, &len, &refused) < 0) {
		w->missing = true;
		w->pending = false;
		note_state(w);
		return;
	}
	w->missing = false;
	note_state(w);
	if (fp_running(w, run) < 0)
		goto out;
	if (memcmp(fp, run, SHA256_LEN) == 0) {
		log_debug("watch", "event=check reason=%s result=same_as_running", why);
		w->have_last = false;
		w->pending = false;
		goto out;
	}
	if (w->have_last && memcmp(fp, w->last_fp, SHA256_LEN) == 0) {
		log_debug("watch", "event=check reason=%s result=same_as_last_attempt", why);
		w->pending = false;
		goto out;
	}
	bool same_pending = w->pending && memcmp(fp, w->pending_fp, SHA256_LEN) == 0;
	if (same_pending && now < w->pending_due && !quiet)
		goto out; /* the re-read is not due yet */
	if (!quiet && !same_pending) {
		log_debug("watch", "event=check reason=%s result=changed_unconfirmed", why);
		w->pending = true;
		w->pending_due = now + debounce_ms;
		memcpy(w->pending_fp, fp, SHA256_LEN);
		goto out;
	}

	/* A refused configuration file is read (and refused) by the engine. */
	struct reload_input in = { .text = text, .len = len, .tentative = !same_pending && !refused };
	log_debug("watch", "event=check reason=%s result=changed tentative=%d", why, in.tentative);
	enum reload_result r = engine_reload(w->e, RELOAD_SRC_FILE, &in, NULL);
	if (r == RELOAD_PARSE_ERROR && in.tentative) {
		w->pending = true;
		w->pending_due = now + debounce_ms;
		memcpy(w->pending_fp, fp, SHA256_LEN);
	} else {
		w->pending = false;
		w->have_last = true;
		memcpy(w->last_fp, fp, SHA256_LEN);
	}
out:
	free_wiped(text, len);
}

/* ---- the component --------------------------------------------------- */

static int comp_prepare(void *ctx, const struct config *old, const struct config *new_cfg,
			void **staged, struct cfg_errors *errs)
{
	struct watch *w = ctx;
	struct watch_set *s = set_from_config(new_cfg);

	if (old && set_equal(s, w->cur)) {
		set_free(s); /* nothing to follow differently */
		*staged = NULL;
		return 0;
	}
	*staged = s;
	return 0;
}

/* commit and revert both swap the staged set with the current one. */
static void comp_swap(void *ctx, void *staged)
{
	struct watch *w = ctx;
	struct watch_set *s = staged, tmp = *w->cur;

	*w->cur = *s;
	*s = tmp;
	apply_set(w);
}

static void comp_abort(void *ctx, void *staged)
{
	set_free(staged);
}

const struct component *watch_component(struct watch *w)
{
	return &w->comp;
}

/* ---- the loop's side ------------------------------------------------- */

struct watch *watch_new(struct engine *e)
{
	struct watch *w = xcalloc(1, sizeof(*w));

	w->e = e;
	w->comp = (struct component){
		.name = "watch",
		.prepare = comp_prepare,
		.commit = comp_swap,
		.revert = comp_swap,
		.abort = comp_abort,
		.ctx = w,
	};
	w->cur = xcalloc(1, sizeof(*w->cur));
	w->cur->enabled = true;
	w->logged = 0; /* so the first state is logged */
	w->fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (w->fd < 0) {
		log_error("watch", "event=watch state=failed error=\"inotify_init1: %s\"",
			  strerror(errno));
		w->failed = true;
		w->logged = WATCH_FAILED;
	}
	return w;
}

void watch_free(struct watch *w)
{
	if (!w)
		return;
	if (w->fd >= 0)
		close(w->fd);
	wdirs_free(&w->dirs);
	set_free(w->cur);
	cfg_unref(w->fp_cfg);
	free(w->missing_path);
	free(w);
}

int watch_fd(const struct watch *w)
{
	return w->cur->enabled ? w->fd : -1;
}

uint32_t watch_events(const struct watch *w)
{
	return w->events;
}

/* The names a Kubernetes ConfigMap or Secret volume swaps: "..data",
 * "..data_tmp" and the "..2024_05_01_12_00_00.123" directories. */
static bool is_configmap_name(const char *name)
{
	return strcmp(name, "..data") == 0 || strcmp(name, "..data_tmp") == 0 ||
	       (strncmp(name, "..", 2) == 0 && name[2] >= '0' && name[2] <= '9');
}

static bool name_matters(const struct wdir *d, const char *name)
{
	if (!*name || is_configmap_name(name)) /* the directory itself; a ConfigMap swap */
		return true;
	for (size_t i = 0; i < d->n_names; i++)
		if (strcmp(d->names[i], name) == 0)
			return true;
	return false;
}

static bool is_symlink(const struct wdir *d, const char *name)
{
	char path[PATH_MAX];
	struct stat st;

	if (snprintf(path, sizeof(path), "%s/%s", d->path, name) >= (int)sizeof(path))
		return false;
	return lstat(path, &st) == 0 && S_ISLNK(st.st_mode);
}

/* One event: arm or extend the debounce; tell whether to resync. */
static bool handle_one(struct watch *w, const struct inotify_event *ev, uint64_t now)
{
	const char *name = ev->len ? ev->name : "";
	unsigned debounce_ms = w->cur->debounce_ms;
	char q[NAME_MAX * 4 + 8];

	if (ev->mask & IN_Q_OVERFLOW) {
		w->events++;
		log_warning("watch", "event=inotify_overflow action=rescan");
		debounce_event(&w->db, now, debounce_ms, true);
		return true;
	}
	struct wdir *d = wdirs_by_wd(&w->dirs, ev->wd);
	if (!d)
		return false; /* a watch removed since */
	if (ev->mask & IN_IGNORED) {
		/* The directory went away: drop it, resolve again and look. */
		d->wd = -1;
		debounce_event(&w->db, now, debounce_ms, true);
		return true;
	}
	if (!name_matters(d, name))
		return false;
	w->events++;
	bool arming = (ev->mask & WATCH_ARMING) ||
		      ((ev->mask & IN_CREATE) && (is_configmap_name(name) || is_symlink(d, name)));
	log_debug("watch", "event=inotify name=%s mask=0x%x arming=%d",
		  log_quote(name, q, sizeof(q)), (unsigned)ev->mask, arming);
	debounce_event(&w->db, now, debounce_ms, arming);
	return (ev->mask & WATCH_RESYNC) != 0;
}

void watch_handle(struct watch *w, uint64_t now_ms)
{
	char buf[8192] __attribute__((aligned(__alignof__(struct inotify_event))));
	bool resync = false;

	if (w->fd < 0 || !w->cur->enabled)
		return;
	for (;;) {
		ssize_t n = read(w->fd, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			if (errno != EAGAIN)
				log_warning("watch", "event=inotify_read error=\"%s\"", strerror(errno));
			break;
		}
		if (n == 0)
			break;
		for (char *p = buf; p < buf + n;) {
			const struct inotify_event *ev = (const struct inotify_event *)p;
			resync |= handle_one(w, ev, now_ms);
			p += sizeof(*ev) + ev->len;
		}
	}
	if (resync)
		sync_dirs(w);
}

int watch_timeout(const struct watch *w, uint64_t now_ms)
{
	int t = -1;

	if (!w->cur->enabled || w->cur->n_files == 0)
		return -1;
	if (w->kick || !w->next_safety)
		return 0;
	uint64_t due = w->next_safety;
	if (w->pending && w->pending_due < due)
		due = w->pending_due;
	if (due <= now_ms)
		return 0;
	t = due - now_ms > INT_MAX ? INT_MAX : (int)(due - now_ms);
	int d = debounce_timeout(&w->db, now_ms);
	if (d >= 0 && d < t)
		t = d;
	return t;
}

void watch_tick(struct watch *w, uint64_t now_ms)
{
	if (!w->cur->enabled || w->cur->n_files == 0)
		return;
	if (w->kick) {
		w->kick = false;
		debounce_event(&w->db, now_ms, w->cur->debounce_ms, true);
	}
	if (!w->next_safety)
		w->next_safety = now_ms + WATCH_SAFETY_MS;
	if (debounce_due(&w->db, now_ms)) {
		debounce_clear(&w->db);
		check(w, now_ms, "event", true);
	} else if (w->pending && now_ms >= w->pending_due) {
		check(w, now_ms, "reread", false);
	} else if (now_ms >= w->next_safety) {
		check(w, now_ms, "safety_net", false);
	}
}
