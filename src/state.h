/* SPDX-License-Identifier: MIT */
/*
 * state.h - what the daemon keeps across restarts: the highest version
 * number it ever handed out and the applied versions of the history (the
 * configuration file's bytes, hash, source, time, changed keys).
 *
 * One directory per configuration file under reload.state_dir, locked by
 * the daemon that uses it.  Every file is written atomically (a temporary
 * file, fsync, rename, fsync of the directory), so a crash leaves either
 * the old or the new content.  A version number is recorded as taken
 * before the change is committed, so it is never handed out twice, not
 * even after an SNMP UNDO or a crash.  This module only stores and reads:
 * it knows nothing about the engine.
 */
#ifndef SSS_STATE_H
#define SSS_STATE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "util.h"

struct state_entry {
	uint32_t version;
	struct timespec applied_at;  /* CLOCK_REALTIME */
	int source;                  /* enum reload_source */
	uint8_t hash[SHA256_LEN];    /* the running hash when it was applied */
	char *changed;               /* "k1,k2" */
	unsigned char *text;         /* the configuration file's bytes */
	size_t len;
};

struct state;

/*
 * Open the state of the configuration file config_path under dir: the
 * directory dir/NAME (NAME is config_path's absolute path with '/' as
 * '-' and other unusual bytes as %XX), created with mode 0700 if missing
 * (dir itself too, but not its parents), and locked.  When owner is not
 * (uid_t)-1 the files and directories this creates are given to
 * owner:group (root preparing the state of a daemon that will drop to a
 * service user).  Reads every stored version; a damaged one is skipped and
 * named in warn (one line per file, may be NULL).  Returns NULL with the
 * reason in err when the directory cannot be used or another daemon holds
 * it.
 */
struct state *state_open(const char *dir, const char *config_path, uid_t owner, gid_t group,
			 struct sbuf *warn, char *err, size_t errlen);
void state_close(struct state *s);

/* The directory in use (dir/NAME). */
const char *state_dir(const struct state *s);
/* The highest version number ever taken (0: none). */
uint32_t state_last_version(const struct state *s);
/* The versions stored when state_open read the directory, oldest first;
 * owned by s. */
size_t state_entries(const struct state *s, const struct state_entry **v);

/* Record that version is taken (before the change is committed).  Returns
 * 0, or -errno with the reason in err; nothing changed then. */
int state_reserve(struct state *s, uint32_t version, char *err, size_t errlen);
/* Store one applied version.  Returns 0 or -errno (err says why). */
int state_save(struct state *s, const struct state_entry *e, char *err, size_t errlen);
/* Forget every stored version older than oldest. */
void state_trim(struct state *s, uint32_t oldest);

#endif
