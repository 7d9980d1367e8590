/* SPDX-License-Identifier: MIT */
/*
 * writeback.h - putting a value changed over SNMP back into the
 * configuration file.
 *
 * Three pure steps the SNMP SET uses: splice new values into the running
 * version's file bytes so that everything else (comments, order, layout,
 * other values) stays byte for byte; check that the file can be written
 * back at all; and replace the file atomically, keeping its owner and
 * mode.  Nothing here validates a value (the engine does) or logs.
 */
#ifndef SSS_WRITEBACK_H
#define SSS_WRITEBACK_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <time.h>

#include "util.h"

struct config;
struct cfg_errors;

/* One setting to write: its key and its value as written in a file. */
struct wb_edit {
	const char *key;   /* "tunnel.upload_kbps" */
	const char *value; /* "5000", "true" */
};

/*
 * Splice edits into c's file bytes (c->text).  A setting written in the
 * main file gets its value replaced where it stands; one that is not
 * written anywhere is added to its group (a new line before the group's
 * closing brace, indented like its siblings), or in a new group at the end
 * of the file.  Uses c's per-setting source file and line to find a
 * setting and to refuse one that lives in an @include'd file (SNMP never
 * writes into included files).  The result is loaded again and must
 * differ from c in exactly the edited settings, each with its new value
 * (a result that does not parse is refused; one that is invalid for
 * another reason is returned, for the engine to reject with its reason).
 * Returns 0 with the new bytes in *out (out is reset first), or -1 with
 * one error per refused edit in errs.
 */
int wb_splice(const struct config *c, const struct wb_edit *edits, size_t n, struct sbuf *out,
	      struct cfg_errors *errs);

/* Why a file cannot be written back. */
enum wb_refusal {
	WB_OK = 0,
	WB_DIFFERS = 1,    /* the file (or an @include) on disk is not the running version */
	WB_UNWRITABLE = 2, /* the file or its directory cannot be written (read-only, permissions) */
};

/* What a file was when it was looked at, to notice that it was replaced
 * or edited since: device, inode, size and modification time. */
struct wb_stamp {
	bool valid;
	dev_t dev;
	ino_t ino;
	off_t size;
	struct timespec mtime;
};

/*
 * Whether the running version c can be written back: the bytes on disk of
 * the file and of every @include'd file are those c was loaded from, and
 * the resolved file and its directory are writable.  Returns WB_OK, or the
 * reason with one error in errs.  stamp (may be NULL) gets the stamp of
 * the configuration file as it was read.
 */
enum wb_refusal wb_check(const struct config *c, struct wb_stamp *stamp, struct cfg_errors *errs);

/*
 * Replace the file at path (symlinks resolved: the target is replaced,
 * the link kept) with len bytes of data: a temporary file in the target's
 * directory (unnamed until complete where the file system allows), given
 * the target's owner and mode, fsync'ed, renamed over the target, then
 * the directory fsync'ed.  When expect is set the target must still have
 * that stamp just before the rename, else -ESTALE ("changed on disk since
 * it was checked") and nothing is replaced.  wrote (may be NULL) gets the
 * new file's stamp.  Returns 0, or -errno with what failed in *why (the
 * target is then untouched).
 */
int wb_write(const char *path, const void *data, size_t len, const struct wb_stamp *expect,
	     struct wb_stamp *wrote, struct sbuf *why);

/* Remove the temporary files of path's write-backs that a crash left next
 * to it (".NAME.sssonector-wb.XXXXXX", regular, owned by this user).
 * Returns how many. */
int wb_clean_stale(const char *path);

#endif
