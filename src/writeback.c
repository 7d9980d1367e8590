/* SPDX-License-Identifier: MIT */
/*
 * writeback.c - splice SNMP-set values into the configuration file's bytes
 * and replace the file atomically.
 *
 * The splice reads the running file with a small libconfig tokenizer
 * (comments, strings, @include lines, brackets) only to find where a value
 * stands or where a group closes; every byte it does not replace is copied
 * as it was.  It never decides whether a value is valid: the candidate it
 * builds goes through the engine like any edit.  It must never write into
 * an @include'd file.
 */
#include "writeback.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"

/* ---- a libconfig tokenizer --------------------------------------------- */

enum tok_type { T_END, T_NAME, T_STRING, T_PUNCT };

struct tok {
	enum tok_type type;
	size_t start, end; /* [start, end) in the text */
	int line;          /* 1-based */
	char c;            /* T_PUNCT: the character */
};

struct scanner {
	const char *s;
	size_t len, pos;
	int line;
};

static bool is_punct(char c)
{
	return c && strchr("=:;,{}[]()", c) != NULL;
}

/* Skip white space, comments and @directive lines. */
static void skip_blank(struct scanner *sc)
{
	while (sc->pos < sc->len) {
		char c = sc->s[sc->pos];
		char d = sc->pos + 1 < sc->len ? sc->s[sc->pos + 1] : '\0';

		if (c == '\n') {
			sc->line++;
			sc->pos++;
		} else if (c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v') {
			sc->pos++;
		} else if (c == '#' || c == '@' || (c == '/' && d == '/')) {
			while (sc->pos < sc->len && sc->s[sc->pos] != '\n')
				sc->pos++;
		} else if (c == '/' && d == '*') {
			sc->pos += 2;
			while (sc->pos < sc->len && !(sc->s[sc->pos] == '*' && sc->pos + 1 < sc->len &&
						       sc->s[sc->pos + 1] == '/')) {
				if (sc->s[sc->pos] == '\n')
					sc->line++;
				sc->pos++;
			}
			sc->pos = sc->pos + 2 < sc->len ? sc->pos + 2 : sc->len;
		} else {
			return;
		}
	}
}

static struct tok next_tok(struct scanner *sc)
{
	struct tok t = { .type = T_END };

	skip_blank(sc);
	t.start = t.end = sc->pos;
	t.line = sc->line;
	if (sc->pos >= sc->len)
		return t;
	char c = sc->s[sc->pos];
	if (c == '"') {
		t.type = T_STRING;
		sc->pos++;
		while (sc->pos < sc->len && sc->s[sc->pos] != '"') {
			if (sc->s[sc->pos] == '\\' && sc->pos + 1 < sc->len)
				sc->pos++;
			if (sc->s[sc->pos] == '\n')
				sc->line++;
			sc->pos++;
		}
		if (sc->pos < sc->len)
			sc->pos++;
	} else if (is_punct(c)) {
		t.type = T_PUNCT;
		t.c = c;
		sc->pos++;
	} else {
		t.type = T_NAME;
		while (sc->pos < sc->len) {
			char x = sc->s[sc->pos], y = sc->pos + 1 < sc->len ? sc->s[sc->pos + 1] : '\0';
			if (x == ' ' || x == '\t' || x == '\r' || x == '\n' || x == '\f' || x == '\v' ||
			    x == '"' || x == '#' || is_punct(x) || (x == '/' && (y == '/' || y == '*')))
				break;
			sc->pos++;
		}
		if (sc->pos == t.start)
			sc->pos++; /* always make progress */
	}
	t.end = sc->pos;
	return t;
}

static struct tok peek_tok(const struct scanner *sc)
{
	struct scanner copy = *sc;
	return next_tok(&copy);
}

/* ---- where settings and groups stand ---------------------------------- */

#define MAX_FOUND 256
#define MAX_DEPTH 64
#define NAME_LEN 64

/* A setting at the top level (group "") or directly inside a top-level group. */
struct place {
	char group[NAME_LEN], name[NAME_LEN];
	size_t name_start, vstart, vend; /* value: one token (a number, a bool, strings) */
	int line;
};

/* A top-level group: where its braces are. */
struct group_place {
	char name[NAME_LEN];
	size_t open, close; /* close: 0 until seen */
};

struct layout {
	struct place set[MAX_FOUND];
	size_t n_set;
	struct group_place grp[MAX_FOUND];
	size_t n_grp;
	bool overflow;
};

static void copy_name(char dst[NAME_LEN], const char *s, size_t start, size_t end)
{
	size_t n = end - start < NAME_LEN - 1 ? end - start : NAME_LEN - 1;

	memcpy(dst, s + start, n);
	dst[n] = '\0';
}

/* Tokenize text and note every setting of depth 0 or 1 and every
 * top-level group. */
static void scan_layout(const char *text, size_t len, struct layout *L)
{
	struct scanner sc = { .s = text, .len = len, .line = 1 };
	struct {
		char kind;  /* '{', '[', '(' */
		int group;  /* index in L->grp for a top-level group, else -1 */
	} stack[MAX_DEPTH];
	int depth = 0;

	memset(L, 0, sizeof(*L));
	for (;;) {
		struct tok t = next_tok(&sc);
		if (t.type == T_END)
			break;
		bool setting_ctx = depth == 0 || stack[depth - 1].kind == '{';
		if (setting_ctx && t.type == T_NAME) {
			struct tok sep = peek_tok(&sc);
			if (sep.type != T_PUNCT || (sep.c != '=' && sep.c != ':'))
				continue;
			next_tok(&sc);
			struct tok v = next_tok(&sc);
			const char *group = NULL;
			if (depth == 0)
				group = "";
			else if (depth == 1 && stack[0].group >= 0)
				group = L->grp[stack[0].group].name;
			if (v.type == T_PUNCT && (v.c == '{' || v.c == '[' || v.c == '(')) {
				if (depth >= MAX_DEPTH) {
					L->overflow = true;
					return;
				}
				stack[depth].kind = v.c;
				stack[depth].group = -1;
				if (depth == 0 && v.c == '{') {
					if (L->n_grp == MAX_FOUND) {
						L->overflow = true;
						return;
					}
					struct group_place *g = &L->grp[L->n_grp];
					copy_name(g->name, text, t.start, t.end);
					g->open = v.start;
					g->close = 0;
					stack[depth].group = (int)L->n_grp++;
				}
				depth++;
				continue;
			}
			if (v.type == T_STRING) {
				while (peek_tok(&sc).type == T_STRING)
					v.end = next_tok(&sc).end;
			}
			if (group && (v.type == T_NAME || v.type == T_STRING)) {
				if (L->n_set == MAX_FOUND) {
					L->overflow = true;
					return;
				}
				struct place *p = &L->set[L->n_set++];
				snprintf(p->group, sizeof(p->group), "%s", group);
				copy_name(p->name, text, t.start, t.end);
				p->name_start = t.start;
				p->vstart = v.start;
				p->vend = v.end;
				p->line = t.line;
			}
			continue;
		}
		if (t.type != T_PUNCT)
			continue;
		if (t.c == '{' || t.c == '[' || t.c == '(') {
			if (depth >= MAX_DEPTH) {
				L->overflow = true;
				return;
			}
			stack[depth].kind = t.c;
			stack[depth].group = -1;
			depth++;
		} else if ((t.c == '}' || t.c == ']' || t.c == ')') && depth > 0) {
			depth--;
			if (stack[depth].group >= 0)
				L->grp[stack[depth].group].close = t.start;
		}
	}
}

/* ---- splicing ---------------------------------------------------------- */

/* One change to the bytes: replace [start, end) with text. */
struct patch {
	size_t start, end;
	size_t order; /* the edit's position, to keep insertions in edit order */
	char *text;
};

static int patch_cmp(const void *a, const void *b)
{
	const struct patch *x = a, *y = b;

	if (x->start != y->start)
		return x->start < y->start ? -1 : 1;
	return x->order < y->order ? -1 : x->order > y->order ? 1 : 0;
}

/* The white space that starts the line holding offset, if nothing else
 * precedes offset on that line; else NULL. */
static bool line_indent(const char *s, size_t off, size_t *ind_start, size_t *ind_len)
{
	size_t b = off;

	while (b > 0 && s[b - 1] != '\n')
		b--;
	for (size_t i = b; i < off; i++)
		if (s[i] != ' ' && s[i] != '\t')
			return false;
	*ind_start = b;
	*ind_len = off - b;
	return true;
}

static void split_key(const char *key, char group[NAME_LEN], char name[NAME_LEN])
{
	const char *dot = strchr(key, '.');

	if (!dot) {
		group[0] = '\0';
		snprintf(name, NAME_LEN, "%s", key);
		return;
	}
	size_t g = (size_t)(dot - key) < NAME_LEN - 1 ? (size_t)(dot - key) : NAME_LEN - 1;
	memcpy(group, key, g);
	group[g] = '\0';
	snprintf(name, NAME_LEN, "%s", dot + 1);
}

/* Whether any setting of group lives in another file than c->path. */
static const char *group_elsewhere(const struct config *c, const char *group, int *line)
{
	size_t glen = strlen(group);

	for (size_t i = 0; i < cfg_n_settings; i++) {
		const char *k = cfg_settings[i].key;
		if (!(c->has & (UINT64_C(1) << i)) || strncmp(k, group, glen) != 0 || k[glen] != '.')
			continue;
		if (c->src[i] && strcmp(c->src[i], c->path) != 0) {
			*line = c->line[i];
			return c->src[i];
		}
	}
	return NULL;
}

int wb_splice(const struct config *c, const struct wb_edit *edits, size_t n, struct sbuf *out,
	      struct cfg_errors *errs)
{
	const char *text = c->text ? (const char *)c->text : "";
	size_t len = c->text ? c->text_len : 0;
	struct layout *L = xcalloc(1, sizeof(*L));
	struct patch *patches = xcalloc(n ? n : 1, sizeof(*patches));
	size_t n_patches = 0, n_errs = errs->n;
	struct sbuf tail = { 0 }; /* new groups appended at the end */
	int ret = -1;

	sbuf_reset(out);
	scan_layout(text, len, L);
	if (L->overflow) {
		cfg_errors_add(errs, c->path, 0, NULL, NULL,
			       "the file is too deeply nested or too long to be written back");
		goto out;
	}
	for (size_t e = 0; e < n; e++) {
		const struct cfg_setting *s = cfg_setting_find(edits[e].key);
		char group[NAME_LEN], name[NAME_LEN];
		size_t idx = s ? cfg_setting_index(s) : 0;

		if (!s) {
			cfg_errors_add(errs, c->path, 0, edits[e].key, edits[e].value, "unknown setting");
			continue;
		}
		split_key(edits[e].key, group, name);
		if (c->has & (UINT64_C(1) << idx)) {
			/* Written somewhere: in place, and only in the main file. */
			if (c->src[idx] && strcmp(c->src[idx], c->path) != 0) {
				cfg_errors_add(errs, c->src[idx], c->line[idx], edits[e].key, edits[e].value,
					       "is set in an @include'd file; SNMP writes only into %s",
					       c->path);
				continue;
			}
			struct place *p = NULL;
			for (size_t k = 0; k < L->n_set; k++) {
				struct place *q = &L->set[k];
				if (strcmp(q->group, group) != 0 || strcmp(q->name, name) != 0)
					continue;
				if (!p || q->line == c->line[idx])
					p = q;
			}
			if (!p) {
				cfg_errors_add(errs, c->path, c->line[idx], edits[e].key, edits[e].value,
					       "cannot find where the file sets it");
				continue;
			}
			patches[n_patches++] = (struct patch){ p->vstart, p->vend, e, xstrdup(edits[e].value) };
			continue;
		}
		/* Not written: add it to its group. */
		struct sbuf line = { 0 };
		struct group_place *g = NULL;
		for (size_t k = 0; group[0] && k < L->n_grp && !g; k++)
			if (strcmp(L->grp[k].name, group) == 0 && L->grp[k].close > L->grp[k].open)
				g = &L->grp[k];
		if (!group[0]) {
			sbuf_printf(&tail, "%s = %s;\n", name, edits[e].value);
			continue;
		}
		if (!g) {
			int gl = 0;
			const char *f = group_elsewhere(c, group, &gl);
			if (f) {
				cfg_errors_add(errs, f, gl, edits[e].key, edits[e].value,
					       "its group \"%s\" is in an @include'd file; SNMP writes only into %s",
					       group, c->path);
				continue;
			}
			/* A new group at the end, or one added by an earlier edit. */
			char head[NAME_LEN + 8];
			snprintf(head, sizeof(head), "%s = {\n", group);
			char *at = strstr(tail.s ? tail.s : "", head);
			if (at) {
				char *close = strstr(at, "};\n");
				size_t off = (size_t)(close - tail.s);
				struct sbuf t2 = { 0 };
				sbuf_addn(&t2, tail.s, off);
				sbuf_printf(&t2, "  %s = %s;\n", name, edits[e].value);
				sbuf_add(&t2, tail.s + off);
				sbuf_free(&tail);
				tail = t2;
			} else {
				sbuf_printf(&tail, "%s  %s = %s;\n};\n", head, name, edits[e].value);
			}
			continue;
		}
		/* Indent like the group's last setting that starts its own line. */
		size_t is = 0, il = 0, cs, cl;
		bool have_indent = false;
		for (size_t k = 0; k < L->n_set; k++) {
			struct place *q = &L->set[k];
			size_t a, b;
			if (strcmp(q->group, group) == 0 && q->name_start > g->open && q->name_start < g->close &&
			    line_indent(text, q->name_start, &a, &b)) {
				is = a;
				il = b;
				have_indent = true;
			}
		}
		if (line_indent(text, g->close, &cs, &cl)) {
			/* "}" on its own line: a new line before it. */
			if (have_indent)
				sbuf_addn(&line, text + is, il);
			else {
				sbuf_addn(&line, text + cs, cl);
				sbuf_add(&line, "  ");
			}
			sbuf_printf(&line, "%s = %s;\n", name, edits[e].value);
			patches[n_patches++] = (struct patch){ cs, cs, e, xstrdup(sbuf_str(&line)) };
		} else {
			bool space = g->close > 0 && (text[g->close - 1] == ' ' || text[g->close - 1] == '\t');
			sbuf_printf(&line, "%s%s = %s; ", space ? "" : " ", name, edits[e].value);
			patches[n_patches++] = (struct patch){ g->close, g->close, e, xstrdup(sbuf_str(&line)) };
		}
		sbuf_free(&line);
	}
	if (errs->n > n_errs)
		goto out;

	/* Copy the bytes, replacing or inserting at each patch in file order
	 * (insertions at one place in the order of the edits). */
	qsort(patches, n_patches, sizeof(*patches), patch_cmp);
	size_t pos = 0;
	for (size_t k = 0; k < n_patches; k++) {
		struct patch *p = &patches[k];
		if (p->start < pos) {
			cfg_errors_add(errs, c->path, 0, edits[p->order].key, edits[p->order].value,
				       "is set twice in one request");
			goto out;
		}
		sbuf_addn(out, text + pos, p->start - pos);
		sbuf_add(out, p->text);
		pos = p->end;
	}
	sbuf_addn(out, text + pos, len - pos);
	if (tail.len) {
		if (out->len && out->s[out->len - 1] != '\n')
			sbuf_add(out, "\n");
		sbuf_add(out, tail.s);
	}
	ret = 0;
out:
	if (ret < 0)
		sbuf_reset(out);
	for (size_t k = 0; k < n_patches; k++)
		free(patches[k].text);
	free(patches);
	sbuf_free(&tail);
	free(L);
	return ret;
}

/* ---- can it be written back ------------------------------------------- */

/* Whether the file at path holds exactly len bytes of data. */
static int same_on_disk(const char *path, const void *data, size_t len)
{
	unsigned char *disk = NULL;
	size_t dlen = 0;
	int r = read_file(path, &disk, &dlen);

	if (r < 0)
		return r;
	r = dlen == len && (len == 0 || memcmp(disk, data, len) == 0);
	free(disk);
	return r;
}

/* The directory part of an absolute path ("/" for "/x"). */
static char *dir_of(const char *path)
{
	char *d = xstrdup(path);
	char *slash = strrchr(d, '/');

	if (slash == d)
		slash[1] = '\0';
	else if (slash)
		*slash = '\0';
	return d;
}

enum wb_refusal wb_check(const struct config *c, struct cfg_errors *errs)
{
	enum wb_refusal ret = WB_OK;
	char *target = NULL, *dir = NULL;
	int r = same_on_disk(c->path, c->text, c->text_len);

	if (r < 0) {
		cfg_errors_add(errs, c->path, 0, NULL, NULL,
			       "cannot be read (%s); SNMP changes are not written back", strerror(-r));
		return WB_DIFFERS;
	}
	if (r == 0) {
		cfg_errors_add(errs, c->path, 0, NULL, NULL,
			       "differs from the running version (an edit not yet applied, or "
			       "rejected); SNMP changes are not written back until it is resolved");
		return WB_DIFFERS;
	}
	for (size_t k = 0; k < c->n_includes; k++) {
		const struct cfg_file *f = &c->includes[k];
		if (same_on_disk(f->path, f->blob.data, f->blob.len) != 1) {
			cfg_errors_add(errs, f->path, 0, NULL, NULL,
				       "(@include'd) differs from the running version; SNMP changes are "
				       "not written back until it is resolved");
			return WB_DIFFERS;
		}
	}
	target = realpath(c->path, NULL);
	if (!target) {
		cfg_errors_add(errs, c->path, 0, NULL, NULL, "cannot be resolved (%s)", strerror(errno));
		ret = WB_UNWRITABLE;
		goto out;
	}
	dir = dir_of(target);
	const char *what = NULL;
	if (access(target, W_OK) != 0)
		what = target;
	else if (access(dir, W_OK | X_OK) != 0)
		what = dir;
	if (what) {
		int err = errno;
		cfg_errors_add(errs, c->path, 0, NULL, NULL,
			       "cannot be written back (%s: %s); change it in the file instead", what,
			       strerror(err));
		ret = WB_UNWRITABLE;
	}
out:
	free(target);
	free(dir);
	return ret;
}

/* ---- the atomic write --------------------------------------------------- */

int wb_write(const char *path, const void *data, size_t len, struct sbuf *why)
{
	int ret = -EIO, fd = -1, dfd = -1;
	char *target = realpath(path, NULL), *dir = NULL, *tmp = NULL;
	struct stat st, tst;
	const unsigned char *p = data;

	if (!target) {
		ret = -errno;
		sbuf_printf(why, "cannot resolve %s: %s", path, strerror(errno));
		goto out;
	}
	if (stat(target, &st) != 0) {
		ret = -errno;
		sbuf_printf(why, "cannot stat %s: %s", target, strerror(errno));
		goto out;
	}
	dir = dir_of(target);
	size_t tl = strlen(dir) + sizeof("/.sssonector-wb.XXXXXX");
	tmp = xmalloc(tl);
	snprintf(tmp, tl, "%s/.sssonector-wb.XXXXXX", strcmp(dir, "/") == 0 ? "" : dir);
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0) {
		ret = -errno;
		sbuf_printf(why, "cannot create a file in %s: %s", dir, strerror(errno));
		free(tmp);
		tmp = NULL;
		goto out;
	}
	for (size_t off = 0; off < len;) {
		ssize_t w = write(fd, p + off, len - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			ret = w < 0 ? -errno : -EIO;
			sbuf_printf(why, "cannot write %s: %s", tmp, strerror(-ret));
			goto out;
		}
		off += (size_t)w;
	}
	if (fstat(fd, &tst) == 0 && (tst.st_uid != st.st_uid || tst.st_gid != st.st_gid) &&
	    fchown(fd, st.st_uid, st.st_gid) != 0) {
		ret = -errno;
		sbuf_printf(why, "cannot give %s the owner of %s: %s", tmp, target, strerror(errno));
		goto out;
	}
	if (fchmod(fd, st.st_mode & 07777) != 0 || fsync(fd) != 0) {
		ret = -errno;
		sbuf_printf(why, "cannot chmod/fsync %s: %s", tmp, strerror(errno));
		goto out;
	}
	if (close(fd) != 0) {
		fd = -1;
		ret = -errno;
		sbuf_printf(why, "cannot close %s: %s", tmp, strerror(errno));
		goto out;
	}
	fd = -1;
	if (rename(tmp, target) != 0) {
		ret = -errno;
		sbuf_printf(why, "cannot rename %s to %s: %s", tmp, target, strerror(errno));
		goto out;
	}
	free(tmp);
	tmp = NULL;
	/* The rename is durable once the directory is. */
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		fsync(dfd);
		close(dfd);
	}
	ret = 0;
out:
	if (fd >= 0)
		close(fd);
	if (tmp) {
		unlink(tmp);
		free(tmp);
	}
	free(dir);
	free(target);
	return ret;
}
