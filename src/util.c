/* SPDX-License-Identifier: MIT */
/*
 * util.c - string buffer, whole-file reads, SHA-256 and clocks.
 */

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "util.h"

void *xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (!p)
		abort();
	return p;
}

void *xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);

	if (!p)
		abort();
	return p;
}

void *xrealloc(void *p, size_t n)
{
	p = realloc(p, n ? n : 1);
	if (!p)
		abort();
	return p;
}

char *xstrdup(const char *s)
{
	char *p = strdup(s);

	if (!p)
		abort();
	return p;
}

static void sbuf_grow(struct sbuf *b, size_t more)
{
	if (b->len + more + 1 <= b->cap)
		return;
	size_t cap = b->cap ? b->cap : 64;
	while (cap < b->len + more + 1)
		cap *= 2;
	b->s = xrealloc(b->s, cap);
	b->cap = cap;
}

void sbuf_addn(struct sbuf *b, const char *s, size_t n)
{
	sbuf_grow(b, n);
	memcpy(b->s + b->len, s, n);
	b->len += n;
	b->s[b->len] = '\0';
}

void sbuf_add(struct sbuf *b, const char *s)
{
	sbuf_addn(b, s, strlen(s));
}

void sbuf_vprintf(struct sbuf *b, const char *fmt, va_list ap)
{
	va_list ap2;

	va_copy(ap2, ap);
	int n = vsnprintf(NULL, 0, fmt, ap2);
	va_end(ap2);
	if (n < 0)
		return;
	sbuf_grow(b, (size_t)n);
	vsnprintf(b->s + b->len, (size_t)n + 1, fmt, ap);
	b->len += (size_t)n;
}

void sbuf_printf(struct sbuf *b, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	sbuf_vprintf(b, fmt, ap);
	va_end(ap);
}

const char *sbuf_str(const struct sbuf *b)
{
	return b->s ? b->s : "";
}

void sbuf_reset(struct sbuf *b)
{
	b->len = 0;
	if (b->s)
		b->s[0] = '\0';
}

void sbuf_free(struct sbuf *b)
{
	free(b->s);
	b->s = NULL;
	b->len = b->cap = 0;
}

void free_wiped(void *p, size_t n)
{
	if (p)
		OPENSSL_cleanse(p, n);
	free(p);
}

void sbuf_wipe(struct sbuf *b)
{
	free_wiped(b->s, b->cap);
	b->s = NULL;
	b->len = b->cap = 0;
}

/* The refusal for a file of mode m that is not a regular file. */
static int not_regular(mode_t m)
{
	if (S_ISDIR(m))
		return READ_E_DIR;
	if (S_ISFIFO(m))
		return READ_E_FIFO;
	if (S_ISSOCK(m))
		return READ_E_SOCKET;
	return READ_E_DEVICE;
}

int read_file(const char *path, size_t max, unsigned char **data, size_t *len)
{
	return read_file_stat(path, max, data, len, NULL);
}

int read_file_stat(const char *path, size_t max, unsigned char **data, size_t *len, struct stat *out_st)
{
	int ret = -EIO;
	unsigned char *buf = NULL;
	size_t cap = 0, n = 0;
	struct stat st;
	int fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0) {
		ret = -errno;
		goto out;
	}
	if (out_st)
		*out_st = st;
	if (!S_ISREG(st.st_mode)) {
		ret = not_regular(st.st_mode);
		goto out;
	}
	if ((uint64_t)st.st_size > max) {
		ret = READ_E_TOOBIG;
		goto out;
	}
	/* st_size is a hint (a file in /proc says 0, a file may grow): read
	 * until EOF, but never more than max + 1 bytes. */
	cap = (size_t)st.st_size < 4096 ? 4096 : (size_t)st.st_size + 1;
	if (cap > max + 1)
		cap = max + 1;
	buf = xmalloc(cap + 1);
	for (;;) {
		if (n == cap) {
			if (cap == max + 1) {
				ret = READ_E_TOOBIG;
				goto out;
			}
			cap = cap > (max + 1) / 2 ? max + 1 : cap * 2;
			buf = xrealloc(buf, cap + 1);
		}
		ssize_t r = read(fd, buf + n, cap - n);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			ret = -errno;
			goto out;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	if (n > max) {
		ret = READ_E_TOOBIG;
		goto out;
	}
	buf[n] = '\0';
	*data = buf;
	*len = n;
	buf = NULL;
	ret = 0;
out:
	free_wiped(buf, n);
	close(fd);
	return ret;
}

int read_file_refused(int r)
{
	return r <= READ_E_DIR && r >= READ_E_TOOBIG;
}

void read_file_error(int r, size_t max, struct sbuf *out)
{
	switch (r) {
	case READ_E_DIR: sbuf_add(out, "is a directory, not a regular file"); break;
	case READ_E_FIFO: sbuf_add(out, "is a FIFO, not a regular file"); break;
	case READ_E_SOCKET: sbuf_add(out, "is a socket, not a regular file"); break;
	case READ_E_DEVICE: sbuf_add(out, "is a device, not a regular file"); break;
	case READ_E_TOOBIG: sbuf_printf(out, "is larger than %zu bytes", max); break;
	default: sbuf_printf(out, "cannot read file: %s", strerror(r < 0 ? -r : r)); break;
	}
}

void sha256(const void *data, size_t len, uint8_t out[SHA256_LEN])
{
	unsigned int n = SHA256_LEN;

	if (!EVP_Digest(data, len, out, &n, EVP_sha256(), NULL))
		abort();
}

void sha256_hex(const uint8_t h[SHA256_LEN], char out[2 * SHA256_LEN + 1])
{
	static const char hex[] = "0123456789abcdef";

	for (int i = 0; i < SHA256_LEN; i++) {
		out[2 * i] = hex[h[i] >> 4];
		out[2 * i + 1] = hex[h[i] & 15];
	}
	out[2 * SHA256_LEN] = '\0';
}

uint64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

uint64_t now_ms(void)
{
	return now_us() / 1000u;
}
