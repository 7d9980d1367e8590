/* SPDX-License-Identifier: MIT */
/*
 * writeback.c - splice SNMP-set values into the configuration file's bytes
 * and replace the file atomically.
 *
 * The splice reads the running file with cfglex (libconfig's own rules
 * for comments, strings and @include directives) only to find where a
 * value stands or where a group closes; every byte it does not replace is
 * copied as it was.  Then it loads what it built and checks that exactly
 * the edited settings changed, to their new values: a splice that missed
 * (a value inside a comment, a group nested wrongly) is refused, never
 * handed on.  Whether a value is valid is the engine's business.  It must
 * never write into an @include'd file.
 */
#include "writeback.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cfglex.h"
#include "config.h"

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
	const char *unterminated; /* the text ends inside a comment, string or directive */
};

static void copy_name(char dst[NAME_LEN], const char *s, size_t start, size_t end)
{
	size_t n = end - start < NAME_LEN - 1 ? end - start : NAME_LEN - 1;

	memcpy(dst, s + start, n);
	dst[n] = '\0';
}

static bool is_open(const struct cfglex_tok *t)
{
	return t->kind == CFGLEX_PUNCT && (t->c == '{' || t->c == '[' || t->c == '(');
}

/* The next token that is not an @include directive: an included file's
 * settings are not in this text, and the directive is only the
 * "@include" and its quoted name (libconfig reads on after it, so a
 * closing brace may follow on the same line). */
static struct cfglex_tok next_tok(struct cfglex *lx)
{
	struct cfglex_tok t;

	do
		t = cfglex_next(lx);
	while (t.kind == CFGLEX_INCLUDE);
	return t;
}

static struct cfglex_tok peek_tok(const struct cfglex *lx)
{
	struct cfglex copy = *lx;

	return next_tok(&copy);
}

/* Tokenize text and note every setting of depth 0 or 1 and every
 * top-level group. */
static void scan_layout(const char *text, size_t len, struct layout *L)
{
	struct cfglex lx;
	struct {
		char kind;  /* '{', '[', '(' */
		int group;  /* index in L->grp for a top-level group, else -1 */
	} stack[MAX_DEPTH];
	int depth = 0;

	memset(L, 0, sizeof(*L));
	cfglex_init(&lx, text, len);
	for (;;) {
		struct cfglex_tok t = next_tok(&lx);
		if (t.kind == CFGLEX_END)
			break;
		bool setting_ctx = depth == 0 || stack[depth - 1].kind == '{';
		if (setting_ctx && t.kind == CFGLEX_WORD) {
			struct cfglex_tok sep = peek_tok(&lx);
			if (sep.kind != CFGLEX_PUNCT || (sep.c != '=' && sep.c != ':'))
				continue;
			next_tok(&lx);
			struct cfglex_tok v = next_tok(&lx);
			const char *group = NULL;
			if (depth == 0)
				group = "";
			else if (depth == 1 && stack[0].group >= 0)
				group = L->grp[stack[0].group].name;
			if (is_open(&v)) {
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
			if (v.kind == CFGLEX_STRING) {
				while (peek_tok(&lx).kind == CFGLEX_STRING)
					v.end = next_tok(&lx).end;
			}
			if (group && (v.kind == CFGLEX_WORD || v.kind == CFGLEX_STRING)) {
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
		if (t.kind != CFGLEX_PUNCT)
			continue;
		if (is_open(&t)) {
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
	L->unterminated = lx.unterminated;
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

/* The edit of key in edits, or NULL. */
static const struct wb_edit *edit_of(const struct wb_edit *edits, size_t n, const char *key)
{
	for (size_t e = 0; e < n; e++)
		if (strcmp(edits[e].key, key) == 0)
			return &edits[e];
	return NULL;
}

/*
 * Parse the spliced bytes and check that they say what was asked: each
 * edited setting has its new value, every other one the value it had in
 * c.  A candidate that does not parse, or is invalid because of a setting
 * that was not edited (an unknown key: a value that landed in the wrong
 * group), is the splice's fault: refused.  One that is invalid because
 * of an edited value is left to the engine, which says why.  0, or -1
 * with the reason in errs.
 */
static int verify(const struct config *c, const struct wb_edit *edits, size_t n, const struct sbuf *out,
		  struct cfg_errors *errs)
{
	struct cfg_errors lerr = { 0 };
	struct config *nc = NULL;
	struct sbuf got = { 0 }, first = { 0 };
	size_t n0 = errs->n;

	enum cfg_status st = cfg_parse(c->path, out->s ? out->s : "", out->len, &nc, &lerr);
	const struct cfg_error *broken = NULL;
	if (st == CFG_ERR_PARSE && lerr.n)
		broken = &lerr.v[0];
	/* Invalid because of a setting that was not edited (an unknown key,
	 * a key in the wrong group): the splice put it there. */
	for (size_t k = 0; st == CFG_ERR_INVALID && !broken && k < lerr.n; k++)
		if (lerr.v[k].key && !edit_of(edits, n, lerr.v[k].key))
			broken = &lerr.v[k];
	if (broken) {
		cfg_error_format(broken, &first);
		cfg_errors_add(errs, c->path, 0, NULL, NULL,
			       "writing the value back would break the file (%s); nothing was written",
			       sbuf_str(&first));
		goto out;
	}
	if (st != CFG_OK)
		goto out; /* the engine will reject it and say why */
	for (size_t i = 0; i < cfg_n_settings; i++) {
		const struct cfg_setting *s = &cfg_settings[i];
		const struct wb_edit *e = edit_of(edits, n, s->key);

		if (e) {
			sbuf_reset(&got);
			cfg_value_format(nc, s, true, &got);
		}
		if (e && strcmp(sbuf_str(&got), e->value) != 0)
			cfg_errors_add(errs, c->path, c->line[i], s->key, e->value,
				       "the edited file would still read %s (the value could not be "
				       "written where libconfig reads it); nothing was written",
				       sbuf_str(&got));
		else if (!e && !cfg_value_equal(c, nc, s))
			cfg_errors_add(errs, c->path, 0, s->key, NULL,
				       "writing the value back would change this setting too; nothing was written");
	}
out:
	cfg_unref(nc);
	cfg_errors_free(&lerr);
	sbuf_free(&got);
	sbuf_free(&first);
	return errs->n > n0 ? -1 : 0;
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
	if (L->overflow || L->unterminated) {
		cfg_errors_add(errs, c->path, 0, NULL, NULL,
			       L->overflow ? "the file is too deeply nested or too long to be written back"
					   : "the file ends inside an unterminated %s; it cannot be written back",
			       L->unterminated);
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
	ret = verify(c, edits, n, out, errs);
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

static void stamp_of(const struct stat *st, struct wb_stamp *s)
{
	*s = (struct wb_stamp){
		.valid = true,
		.dev = st->st_dev,
		.ino = st->st_ino,
		.size = st->st_size,
		.mtime = st->st_mtim,
	};
}

static bool stamp_equal(const struct wb_stamp *a, const struct wb_stamp *b)
{
	return a->dev == b->dev && a->ino == b->ino && a->size == b->size &&
	       a->mtime.tv_sec == b->mtime.tv_sec && a->mtime.tv_nsec == b->mtime.tv_nsec;
}

/* Whether the file at path holds exactly len bytes of data (1, 0, or a
 * read_file error), and its stamp as read when stamp is not NULL. */
static int same_on_disk(const char *path, const void *data, size_t len, struct wb_stamp *stamp)
{
	unsigned char *disk = NULL;
	size_t dlen = 0;
	struct stat st;
	int r = read_file_stat(path, CFG_FILE_MAX, &disk, &dlen, &st);

	if (r < 0)
		return r;
	r = dlen == len && (len == 0 || memcmp(disk, data, len) == 0);
	if (stamp)
		stamp_of(&st, stamp);
	free_wiped(disk, dlen);
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

enum wb_refusal wb_check(const struct config *c, struct wb_stamp *stamp, struct cfg_errors *errs)
{
	enum wb_refusal ret = WB_OK;
	char *target = NULL, *dir = NULL;
	struct sbuf why = { 0 };
	int r = same_on_disk(c->path, c->text, c->text_len, stamp);

	if (r < 0) {
		read_file_error(r, CFG_FILE_MAX, &why);
		cfg_errors_add(errs, c->path, 0, NULL, NULL, "%s; SNMP changes are not written back",
			       sbuf_str(&why));
		sbuf_free(&why);
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
		if (same_on_disk(f->path, f->blob.data, f->blob.len, NULL) != 1) {
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

#define TMP_TAG ".sssonector-wb."

/* The temporary names of target's write-backs: "DIR/.BASE.sssonector-wb."
 * (the caller appends six characters). */
static void tmp_prefix(const char *target, struct sbuf *out)
{
	const char *slash = strrchr(target, '/');

	sbuf_addn(out, target, (size_t)(slash - target) + 1);
	sbuf_printf(out, ".%s" TMP_TAG, slash + 1);
}

/*
 * A file in target's directory holding data, given the target's owner and
 * mode, fsync'ed, and named by a fresh temporary name (into tmp).  With
 * O_TMPFILE the file has no name until it is complete, so a crash during
 * a long write (a slow or frozen disk) strands nothing; without it
 * (file systems that lack it) the name exists from the start and
 * wb_clean_stale removes what a crash left.  Returns 0 or -errno.
 */
static int write_tmp(const char *target, const struct stat *st, const void *data, size_t len,
		     struct sbuf *tmp, struct sbuf *why)
{
	struct sbuf dir = { 0 }, proc = { 0 };
	const unsigned char *p = data;
	int ret = -EIO, fd;
	bool named = false;

	sbuf_addn(&dir, target, (size_t)(strrchr(target, '/') - target));
	fd = open(dir.len ? dir.s : "/", O_TMPFILE | O_WRONLY | O_CLOEXEC, 0600);
	if (fd < 0) {
		tmp_prefix(target, tmp);
		sbuf_add(tmp, "XXXXXX");
		fd = mkostemp(tmp->s, O_CLOEXEC);
		named = true;
	}
	if (fd < 0) {
		ret = -errno;
		sbuf_printf(why, "cannot create a file in %s: %s", dir.len ? dir.s : "/", strerror(errno));
		sbuf_reset(tmp);
		goto out;
	}
	for (size_t off = 0; off < len;) {
		ssize_t w = write(fd, p + off, len - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			ret = w < 0 ? -errno : -EIO;
			sbuf_printf(why, "cannot write the new file: %s", strerror(-ret));
			goto out;
		}
		off += (size_t)w;
	}
	struct stat tst;
	if (fstat(fd, &tst) == 0 && (tst.st_uid != st->st_uid || tst.st_gid != st->st_gid) &&
	    fchown(fd, st->st_uid, st->st_gid) != 0) {
		ret = -errno;
		sbuf_printf(why, "cannot give the new file the owner of %s: %s", target, strerror(errno));
		goto out;
	}
	if (fchmod(fd, st->st_mode & 07777) != 0 || fsync(fd) != 0) {
		ret = -errno;
		sbuf_printf(why, "cannot chmod/fsync the new file: %s", strerror(errno));
		goto out;
	}
	if (!named) {
		/* linkat(AT_EMPTY_PATH) needs CAP_DAC_READ_SEARCH; /proc does not */
		sbuf_printf(&proc, "/proc/self/fd/%d", fd);
		for (int tries = 0; !named && tries < 100; tries++) {
			static const char abc[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
			uint8_t rnd[6];
			sbuf_reset(tmp);
			tmp_prefix(target, tmp);
			if (getentropy(rnd, sizeof(rnd)) != 0) {
				uint64_t t = now_us() + (uint64_t)tries;
				memcpy(rnd, &t, sizeof(rnd));
			}
			for (size_t i = 0; i < sizeof(rnd); i++)
				sbuf_addn(tmp, &abc[rnd[i] % (sizeof(abc) - 1)], 1);
			if (linkat(AT_FDCWD, proc.s, AT_FDCWD, tmp->s, AT_SYMLINK_FOLLOW) == 0)
				named = true;
			else if (errno != EEXIST)
				break;
		}
		if (!named) {
			ret = -errno;
			sbuf_printf(why, "cannot name the new file in %s: %s", dir.s, strerror(errno));
			sbuf_reset(tmp);
			goto out;
		}
	}
	ret = 0;
out:
	if (fd >= 0 && close(fd) != 0 && ret == 0) {
		ret = -errno;
		sbuf_printf(why, "cannot close the new file: %s", strerror(errno));
	}
	if (ret < 0 && named && tmp->len) {
		unlink(tmp->s);
		sbuf_reset(tmp);
	}
	sbuf_free(&dir);
	sbuf_free(&proc);
	return ret;
}

int wb_write(const char *path, const void *data, size_t len, const struct wb_stamp *expect,
	     struct wb_stamp *wrote, struct sbuf *why)
{
	int ret = -EIO, dfd;
	char *target = realpath(path, NULL);
	struct sbuf tmp = { 0 };
	struct stat st;
	struct wb_stamp now;

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
	ret = write_tmp(target, &st, data, len, &tmp, why);
	if (ret < 0)
		goto out;
	/* The last look before the rename: an editor that saved since the
	 * file was checked must not lose its edit. */
	if (expect && expect->valid) {
		bool same = stat(target, &st) == 0;
		if (same) {
			stamp_of(&st, &now);
			same = stamp_equal(&now, expect);
		}
		if (!same) {
			ret = -ESTALE;
			sbuf_printf(why, "%s was changed on disk since it was checked; nothing was written", target);
			goto out;
		}
	}
	if (rename(tmp.s, target) != 0) {
		ret = -errno;
		sbuf_printf(why, "cannot rename %s to %s: %s", tmp.s, target, strerror(errno));
		goto out;
	}
	sbuf_reset(&tmp);
	if (wrote) {
		memset(wrote, 0, sizeof(*wrote));
		if (stat(target, &st) == 0)
			stamp_of(&st, wrote);
	}
	/* The rename is durable once the directory is. */
	char *dir = dir_of(target);
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		fsync(dfd);
		close(dfd);
	}
	free(dir);
	ret = 0;
out:
	if (tmp.len)
		unlink(tmp.s);
	sbuf_free(&tmp);
	free(target);
	return ret;
}

int wb_clean_stale(const char *path)
{
	char *target = realpath(path, NULL);
	struct sbuf prefix = { 0 }, name = { 0 };
	int n = 0;

	if (!target)
		return 0;
	tmp_prefix(target, &prefix);
	const char *base = strrchr(prefix.s, '/') + 1;
	char *dir = dir_of(target);
	DIR *d = opendir(dir);
	for (struct dirent *de; d && (de = readdir(d));) {
		struct stat st;
		if (strncmp(de->d_name, base, strlen(base)) != 0 || strlen(de->d_name) != strlen(base) + 6)
			continue;
		sbuf_reset(&name);
		sbuf_printf(&name, "%s/%s", strcmp(dir, "/") ? dir : "", de->d_name);
		if (lstat(name.s, &st) == 0 && S_ISREG(st.st_mode) && st.st_uid == geteuid() &&
		    unlink(name.s) == 0)
			n++;
	}
	if (d)
		closedir(d);
	free(dir);
	free(target);
	sbuf_free(&prefix);
	sbuf_free(&name);
	return n;
}
