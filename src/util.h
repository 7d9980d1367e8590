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

/*
 * Read a whole file into a fresh malloc'd buffer (NUL-terminated, the NUL
 * not counted in *len).  Returns 0, or -errno with *data untouched.
 */
int read_file(const char *path, unsigned char **data, size_t *len);

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
