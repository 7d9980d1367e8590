/* SPDX-License-Identifier: MIT */
/*
 * util.h - small helpers shared by every module: a growable string buffer,
 * whole-file reads, SHA-256 and clocks.  Nothing here logs or exits.
 */
#ifndef SSS_UTIL_H
#define SSS_UTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#define SHA256_LEN 32

/* A growable NUL-terminated string.  Zero-initialise, free with sbuf_free. */
struct sbuf {
	char *s;
	size_t len, cap;
};

void sbuf_add(struct sbuf *b, const char *s);
void sbuf_addn(struct sbuf *b, const char *s, size_t n);
void sbuf_printf(struct sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void sbuf_vprintf(struct sbuf *b, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));
/* The string, never NULL (an empty buffer gives ""). */
const char *sbuf_str(const struct sbuf *b);
void sbuf_reset(struct sbuf *b);
void sbuf_free(struct sbuf *b);
/* sbuf_free, the bytes overwritten first (a buffer that held a secret). */
void sbuf_wipe(struct sbuf *b);
/* free(p) after overwriting its n bytes (NULL is fine). */
void free_wiped(void *p, size_t n);

/*
 * Read a whole regular file of at most max bytes into a fresh malloc'd
 * buffer (NUL-terminated, the NUL not counted in *len).  The path is
 * opened non-blocking (a FIFO cannot hang the caller) and what it opened
 * is checked with fstat before a byte is read: only a regular file is
 * read, and never more than max + 1 bytes (a file that grows while it is
 * read is refused too).  Symlinks are followed: the check is on what the
 * path opens.  Returns 0, -errno when open or read fails (*data
 * untouched), or one of the READ_E_* refusals below.
 */
int read_file(const char *path, size_t max, unsigned char **data, size_t *len);
/* read_file, and the fstat of what was opened into *st (when it was read
 * or refused). */
struct stat;
int read_file_stat(const char *path, size_t max, unsigned char **data, size_t *len, struct stat *st);

/* read_file's refusals: outside the errno range, so -errno never clashes. */
#define READ_E_DIR (-4097)    /* a directory */
#define READ_E_FIFO (-4098)   /* a FIFO */
#define READ_E_SOCKET (-4099) /* a socket */
#define READ_E_DEVICE (-4100) /* a character or block device */
#define READ_E_TOOBIG (-4101) /* more than max bytes */

/* Whether r is one of the READ_E_* refusals (the file exists and was not
 * read on purpose), as opposed to an error of the system. */
int read_file_refused(int r);
/* Append why read_file failed with r, as the end of a sentence about the
 * file ("is a FIFO, not a regular file", "is larger than 262144 bytes",
 * "cannot read file: No such file or directory"); max as given to it. */
void read_file_error(int r, size_t max, struct sbuf *out);

void sha256(const void *data, size_t len, uint8_t out[SHA256_LEN]);
/* Lower-case hex of a SHA-256 into out (65 bytes with the NUL). */
void sha256_hex(const uint8_t h[SHA256_LEN], char out[2 * SHA256_LEN + 1]);

/* Monotonic time in milliseconds and microseconds. */
uint64_t now_ms(void);
uint64_t now_us(void);

/* Allocation that aborts on failure: the daemon cannot do anything useful
 * without a few bytes of memory, and checking every strdup hides the logic. */
void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);

#endif
