/* SPDX-License-Identifier: MIT */
/*
 * state.c - the state directory: the last version number taken and one
 * file per applied version, each written atomically.
 *
 * Layout of dir/NAME/:
 *   lock            flock()ed by the daemon that uses the directory
 *   last-version    "7\n": the highest version number ever taken
 *   version-7       one applied version: "key=value" header lines, an
 *                   empty line, then exactly length bytes of the file
 *
 * The header carries a SHA-256 of the bytes: a file that does not match
 * (a torn disk, an editor) is skipped, never half-used.  Nothing here logs;
 * the caller reports what it is told.
 */
#include "state.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#define ENTRY_PREFIX "version-"
#define MAX_ENTRY_BYTES (16u << 20)

struct state {
	char *dir;
	int dirfd, lockfd;
	uid_t owner;
	gid_t group;
	uint32_t last;
	struct state_entry *v;
	size_t n;
};

static int fail(char *err, size_t len, int e, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static int fail(char *err, size_t len, int e, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(err, len, fmt, ap);
	va_end(ap);
	if (n >= 0 && (size_t)n < len && e)
		snprintf(err + n, len - (size_t)n, ": %s", strerror(e));
	return e ? -e : -EINVAL;
}

/* The directory name for a configuration path: its absolute form without
 * the leading '/', '/' as '-', and anything but [A-Za-z0-9._] as %XX. */
static char *escape_path(const char *path)
{
	char *abs = realpath(path, NULL);
	struct sbuf b = { 0 };
	const char *p = abs ? abs : path;

	while (*p == '/')
		p++;
	for (; *p; p++) {
		unsigned char ch = (unsigned char)*p;
		if (ch == '/')
			sbuf_add(&b, "-");
		else if (isalnum(ch) || ch == '.' || ch == '_')
			sbuf_addn(&b, p, 1);
		else
			sbuf_printf(&b, "%%%02X", ch);
	}
	free(abs);
	if (!b.len || strcmp(sbuf_str(&b), ".") == 0 || strcmp(sbuf_str(&b), "..") == 0)
		sbuf_add(&b, "_");
	return b.s;
}

/* mkdir that leaves an existing directory alone, gives a new one away. */
static int make_dir(int at, const char *name, uid_t owner, gid_t group)
{
	if (mkdirat(at, name, 0700) == 0) {
		if (owner != (uid_t)-1 && fchownat(at, name, owner, group, AT_SYMLINK_NOFOLLOW) < 0)
			return -errno;
		return 0;
	}
	return errno == EEXIST ? 0 : -errno;
}

/* Write data as dirfd/name atomically. */
static int write_atomic(struct state *s, const char *name, const void *a, size_t alen, const void *b,
			size_t blen)
{
	char tmp[64];
	int fd, ret = 0;

	snprintf(tmp, sizeof(tmp), ".%s.tmp", name);
	unlinkat(s->dirfd, tmp, 0);
	fd = openat(s->dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	const void *parts[2] = { a, b };
	size_t lens[2] = { alen, blen };
	for (int i = 0; i < 2 && !ret; i++) {
		const char *p = parts[i];
		size_t left = lens[i];
		while (left) {
			ssize_t w = write(fd, p, left);
			if (w < 0 && errno == EINTR)
				continue;
			if (w <= 0) {
				ret = w < 0 ? -errno : -EIO;
				break;
			}
			p += w;
			left -= (size_t)w;
		}
	}
	if (!ret && s->owner != (uid_t)-1 && fchown(fd, s->owner, s->group) < 0)
		ret = -errno;
	if (!ret && fsync(fd) < 0)
		ret = -errno;
	if (close(fd) < 0 && !ret)
		ret = -errno;
	if (!ret && renameat(s->dirfd, tmp, s->dirfd, name) < 0)
		ret = -errno;
	if (ret)
		unlinkat(s->dirfd, tmp, 0);
	else if (fsync(s->dirfd) < 0)
		ret = -errno;
	return ret;
}

/* Read dirfd/name whole (regular files only, bounded). */
static int read_at(int dirfd, const char *name, unsigned char **data, size_t *len)
{
	int fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
	struct stat st;
	int ret = 0;

	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size > (off_t)MAX_ENTRY_BYTES) {
		close(fd);
		return -EINVAL;
	}
	unsigned char *buf = xmalloc((size_t)st.st_size + 1);
	size_t got = 0;
	while (got < (size_t)st.st_size) {
		ssize_t r = read(fd, buf + got, (size_t)st.st_size - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			ret = r < 0 ? -errno : -EIO;
			break;
		}
		got += (size_t)r;
	}
	close(fd);
	if (ret) {
		free(buf);
		return ret;
	}
	buf[got] = '\0';
	*data = buf;
	*len = got;
	return 0;
}

static int hex_decode(const char *hex, uint8_t *out, size_t n)
{
	if (strlen(hex) != 2 * n)
		return -1;
	for (size_t i = 0; i < n; i++) {
		unsigned v;
		if (!isxdigit((unsigned char)hex[2 * i]) || !isxdigit((unsigned char)hex[2 * i + 1]) ||
		    sscanf(hex + 2 * i, "%2x", &v) != 1)
			return -1;
		out[i] = (uint8_t)v;
	}
	return 0;
}

static bool parse_u32(const char *v, uint32_t *out)
{
	char *end;
	errno = 0;
	unsigned long x = strtoul(v, &end, 10);
	if (errno || end == v || (*end && *end != '\n') || x > UINT32_MAX || !isdigit((unsigned char)*v))
		return false;
	*out = (uint32_t)x;
	return true;
}

/* Parse one version file; 0 or -1 (damaged). */
static int parse_entry(const unsigned char *data, size_t len, struct state_entry *e)
{
	const char *p = (const char *)data, *end = p + len;
	uint8_t text_hash[SHA256_LEN], got[SHA256_LEN];
	bool have_hash = false, have_text_hash = false, have_len = false, have_version = false;
	size_t length = 0;

	memset(e, 0, sizeof(*e));
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		if (!nl)
			goto bad;
		if (nl == p) { /* the empty line: the bytes follow */
			p = nl + 1;
			break;
		}
		char line[1024];
		size_t n = (size_t)(nl - p);
		if (n >= sizeof(line))
			goto bad;
		memcpy(line, p, n);
		line[n] = '\0';
		p = nl + 1;
		char *eq = strchr(line, '=');
		if (line[0] == '#')
			continue;
		if (!eq)
			goto bad;
		*eq = '\0';
		const char *k = line, *v = eq + 1;
		uint32_t u;
		if (!strcmp(k, "version") && parse_u32(v, &u) && u > 0) {
			e->version = u;
			have_version = true;
		} else if (!strcmp(k, "applied_at")) {
			long long sec;
			long nsec;
			if (sscanf(v, "%lld.%9ld", &sec, &nsec) != 2)
				goto bad;
			e->applied_at.tv_sec = (time_t)sec;
			e->applied_at.tv_nsec = nsec;
		} else if (!strcmp(k, "source") && parse_u32(v, &u)) {
			e->source = (int)u;
		} else if (!strcmp(k, "hash")) {
			if (hex_decode(v, e->hash, SHA256_LEN) < 0)
				goto bad;
			have_hash = true;
		} else if (!strcmp(k, "text_sha256")) {
			if (hex_decode(v, text_hash, SHA256_LEN) < 0)
				goto bad;
			have_text_hash = true;
		} else if (!strcmp(k, "changed")) {
			free(e->changed);
			e->changed = xstrdup(v);
		} else if (!strcmp(k, "length") && parse_u32(v, &u)) {
			length = u;
			have_len = true;
		} else {
			goto bad;
		}
	}
	if (!have_version || !have_hash || !have_text_hash || !have_len || (size_t)(end - p) != length)
		goto bad;
	sha256(p, length, got);
	if (memcmp(got, text_hash, SHA256_LEN) != 0)
		goto bad;
	e->text = xmalloc(length + 1);
	memcpy(e->text, p, length);
	e->text[length] = '\0';
	e->len = length;
	if (!e->changed)
		e->changed = xstrdup("");
	return 0;
bad:
	free(e->changed);
	e->changed = NULL;
	return -1;
}

static int cmp_entry(const void *a, const void *b)
{
	const struct state_entry *x = a, *y = b;
	return x->version < y->version ? -1 : x->version > y->version;
}

/* Call fn(s, name, version, ctx) for every dir/version-N file. */
static void each_entry(struct state *s, void (*fn)(struct state *, const char *, uint32_t, void *), void *ctx)
{
	int fd = openat(s->dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	struct dirent *de;

	if (!d) {
		if (fd >= 0)
			close(fd);
		return;
	}
	while ((de = readdir(d))) {
		uint32_t v;
		if (strncmp(de->d_name, ENTRY_PREFIX, strlen(ENTRY_PREFIX)) == 0 &&
		    parse_u32(de->d_name + strlen(ENTRY_PREFIX), &v))
			fn(s, de->d_name, v, ctx);
	}
	closedir(d);
}

static void load_one(struct state *s, const char *name, uint32_t v, void *warn)
{
	unsigned char *data = NULL;
	size_t len;
	struct state_entry e;

	if (read_at(s->dirfd, name, &data, &len) < 0) {
		if (warn)
			sbuf_printf(warn, "%s/%s: unreadable, ignored\n", s->dir, name);
		return;
	}
	if (parse_entry(data, len, &e) < 0 || e.version != v) {
		if (warn)
			sbuf_printf(warn, "%s/%s: damaged, ignored\n", s->dir, name);
		free_wiped(data, len);
		return;
	}
	free_wiped(data, len);
	s->v = xrealloc(s->v, (s->n + 1) * sizeof(*s->v));
	s->v[s->n++] = e;
	if (e.version > s->last)
		s->last = e.version;
}

static void load_entries(struct state *s, struct sbuf *warn)
{
	each_entry(s, load_one, warn);
	if (s->n)
		qsort(s->v, s->n, sizeof(*s->v), cmp_entry);
}

struct state *state_open(const char *dir, const char *config_path, uid_t owner, gid_t group,
			 struct sbuf *warn, char *err, size_t errlen)
{
	struct state *s = xcalloc(1, sizeof(*s));
	char *name = escape_path(config_path);
	int r, top = -1;

	s->dirfd = s->lockfd = -1;
	s->owner = owner;
	s->group = group;
	struct sbuf b = { 0 };
	sbuf_printf(&b, "%s/%s", dir, name);
	s->dir = b.s;
	if (dir[0] != '/') {
		fail(err, errlen, 0, "%s: the state directory must be an absolute path", dir);
		goto bad;
	}
	if ((r = make_dir(AT_FDCWD, dir, owner, group)) < 0) {
		fail(err, errlen, -r, "cannot create %s", dir);
		goto bad;
	}
	top = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (top < 0) {
		fail(err, errlen, errno, "cannot open %s", dir);
		goto bad;
	}
	if ((r = make_dir(top, name, owner, group)) < 0) {
		fail(err, errlen, -r, "cannot create %s", s->dir);
		goto bad;
	}
	s->dirfd = openat(top, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (s->dirfd < 0) {
		fail(err, errlen, errno, "cannot open %s", s->dir);
		goto bad;
	}
	s->lockfd = openat(s->dirfd, "lock", O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (s->lockfd < 0) {
		fail(err, errlen, errno, "cannot open %s/lock", s->dir);
		goto bad;
	}
	if (owner != (uid_t)-1 && fchown(s->lockfd, owner, group) < 0) {
		fail(err, errlen, errno, "cannot give %s/lock to uid %u", s->dir, (unsigned)owner);
		goto bad;
	}
	if (flock(s->lockfd, LOCK_EX | LOCK_NB) < 0) {
		fail(err, errlen, errno == EWOULDBLOCK ? 0 : errno, "%s is in use by another sssonector%s",
		     s->dir, errno == EWOULDBLOCK ? " running on the same configuration file" : "");
		goto bad;
	}
	/* The directory must be writable by whoever will write it. */
	if (owner == (uid_t)-1 && faccessat(s->dirfd, ".", W_OK, AT_EACCESS) < 0) {
		fail(err, errlen, errno, "%s is not writable", s->dir);
		goto bad;
	}

	unsigned char *data;
	size_t len;
	if (read_at(s->dirfd, "last-version", &data, &len) == 0) {
		uint32_t v;
		if (parse_u32((char *)data, &v))
			s->last = v;
		else if (warn)
			sbuf_printf(warn, "%s/last-version: damaged, ignored\n", s->dir);
		free(data);
	}
	load_entries(s, warn);
	close(top);
	free(name);
	return s;
bad:
	if (top >= 0)
		close(top);
	free(name);
	state_close(s);
	return NULL;
}

void state_close(struct state *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->n; i++) {
		free(s->v[i].changed);
		free_wiped(s->v[i].text, s->v[i].len); /* may hold tunnel.key_password */
	}
	free(s->v);
	if (s->dirfd >= 0)
		close(s->dirfd);
	if (s->lockfd >= 0)
		close(s->lockfd); /* releases the lock */
	free(s->dir);
	free(s);
}

const char *state_dir(const struct state *s)
{
	return s->dir;
}

uint32_t state_last_version(const struct state *s)
{
	return s->last;
}

size_t state_entries(const struct state *s, const struct state_entry **v)
{
	*v = s->v;
	return s->n;
}

int state_reserve(struct state *s, uint32_t version, char *err, size_t errlen)
{
	char buf[32];
	int n = snprintf(buf, sizeof(buf), "%" PRIu32 "\n", version);
	int r;

	if (version <= s->last)
		return 0;
	if ((r = write_atomic(s, "last-version", buf, (size_t)n, NULL, 0)) < 0)
		return fail(err, errlen, -r, "cannot write %s/last-version", s->dir);
	s->last = version;
	return 0;
}

int state_save(struct state *s, const struct state_entry *e, char *err, size_t errlen)
{
	struct sbuf h = { 0 };
	char name[32], hex[2 * SHA256_LEN + 1];
	uint8_t th[SHA256_LEN];
	int r;

	sha256(e->text, e->len, th);
	sbuf_add(&h, "# sssonector: one applied version of the configuration (written by the daemon)\n");
	sbuf_printf(&h, "version=%" PRIu32 "\n", e->version);
	sbuf_printf(&h, "applied_at=%lld.%09ld\n", (long long)e->applied_at.tv_sec, e->applied_at.tv_nsec);
	sbuf_printf(&h, "source=%d\n", e->source);
	sha256_hex(e->hash, hex);
	sbuf_printf(&h, "hash=%s\n", hex);
	sha256_hex(th, hex);
	sbuf_printf(&h, "text_sha256=%s\n", hex);
	/* changed is a list of keys: no newline can be in it, but be sure */
	sbuf_add(&h, "changed=");
	for (const char *p = e->changed ? e->changed : ""; *p; p++)
		sbuf_addn(&h, *p == '\n' ? " " : p, 1);
	sbuf_printf(&h, "\nlength=%zu\n\n", e->len);
	snprintf(name, sizeof(name), ENTRY_PREFIX "%" PRIu32, e->version);
	r = write_atomic(s, name, h.s, h.len, e->text, e->len);
	sbuf_free(&h);
	if (r < 0)
		return fail(err, errlen, -r, "cannot write %s/%s", s->dir, name);
	return state_reserve(s, e->version, err, errlen);
}

static void trim_one(struct state *s, const char *name, uint32_t v, void *oldest)
{
	if (v < *(uint32_t *)oldest)
		unlinkat(s->dirfd, name, 0);
}

void state_trim(struct state *s, uint32_t oldest)
{
	each_entry(s, trim_one, &oldest);
}
