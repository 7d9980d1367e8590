/* SPDX-License-Identifier: MIT */
/* testutil.h - temp dirs, files and a throwaway PKI for the CUnit tests. */
#ifndef SSS_TESTUTIL_H
#define SSS_TESTUTIL_H

#include <stddef.h>

/* A fresh mode-0700 directory under $TMPDIR; removed by tu_cleanup(). */
const char *tu_tmpdir(void);
/* The throwaway PKI (scripts/mkpki.sh), made once per test program in its
 * own temp dir; returns that dir. */
const char *tu_pki(void);
/* dir/name as a static-ish string (valid until the next 8 calls). */
const char *tu_path(const char *dir, const char *name);
/* Write s to path (mode 0600), replacing it. Aborts the test program on failure. */
void tu_write(const char *path, const char *s);
/* A minimal valid server configuration (forward transport) using the PKI,
 * with extra lines appended inside the top level; written to dir/name. */
const char *tu_server_conf(const char *dir, const char *name, const char *extra);
/* Write a libconfig file to path from dotted key/value pairs: kv is
 * { "mode", "\"server\"", "tunnel.listen", "\"127.0.0.1:1\"", ..., NULL },
 * values written as in the file.  Top-level keys come first, then one
 * block per group in order of first appearance; one setting per line.
 * Mode 0600.  Returns path. */
const char *tu_write_kv(const char *path, const char *const *kv);
/* The line (1-based) on which a file written by tu_write_kv sets key
 * ("tunnel.listen"; a group name finds its opening line), or 0. */
int tu_kv_line(const char *path, const char *key);
/* The whole file at path, NUL-terminated (malloc'd), or NULL. */
char *tu_read(const char *path);
/* Copy src to dst and chmod dst to mode.  Aborts on failure. */
void tu_copy(const char *src, const char *dst, int mode);
/* Remove every temp dir made by this program. */
void tu_cleanup(void);
/* Run all CUnit suites registered so far; returns the process exit code. */
int tu_run(void);

#endif
