/* SPDX-License-Identifier: MIT */
/*
 * fuzz_common.h - what the fuzz harnesses share: a private directory with
 * a throwaway PKI made in-process (no openssl command, no files from the
 * tree), and the "@PKI@" substitution the bad-configuration corpus uses.
 */
#ifndef SSS_FUZZ_COMMON_H
#define SSS_FUZZ_COMMON_H

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
/* Optional: once, before the first input. */
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* A mode-0700 directory, removed at exit, holding ca.crt, server.crt,
 * server.key, client.crt and client.key (EC P-256, valid for a year from
 * an hour ago), and rates.inc (upload_kbps and download_kbps, to be
 * included in a tunnel group).  Made on first use; aborts if it cannot be. */
const char *fz_dir(void);

/* data as a NUL-terminated string with every "@PKI@" replaced by fz_dir()
 * (malloc'd; *len its length).  NUL bytes in data are kept. */
char *fz_subst(const uint8_t *data, size_t size, size_t *len);

/* A valid server configuration (forward) using fz_dir()'s PKI, with extra
 * appended, written to fz_dir()/name; returns the path (static). */
const char *fz_write_conf(const char *name, const char *extra);

#endif
