/* SPDX-License-Identifier: MIT */
/*
 * tlsio.c - see tlsio.h.
 *
 * The BIO is ours (a BIO_METHOD over the two pool buffers) rather than
 * OpenSSL's BIO pair, whose buffers are allocated whole when the pair is
 * made and live as long as the connection.
 */
#include "tlsio.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/bio.h>

#define FILL_ROUNDS 4

static BIO_METHOD *method;
static pthread_once_t method_once = PTHREAD_ONCE_INIT;

/* SSL_write's records: into the out buffer, as much as fits. */
static int bio_write(BIO *b, const char *data, int len)
{
	struct tlsio *io = BIO_get_data(b);
	size_t n;

	BIO_clear_retry_flags(b);
	if (len <= 0)
		return 0;
	if (!pbuf_reserve(io->pool, &io->out)) {
		BIO_set_retry_write(b);
		return -1;
	}
	size_t room = pbuf_space(&io->out);
	if (room < (size_t)len) {
		pbuf_grow(io->pool, &io->out);
		room = pbuf_space(&io->out);
	}
	if (!room) {
		BIO_set_retry_write(b);
		return -1;
	}
	n = room < (size_t)len ? room : (size_t)len;
	memcpy(io->out.d + io->out.w, data, n);
	io->out.w += n;
	return (int)n;
}

/* SSL_read's records: from the in buffer; end of file once it is empty
 * and the socket ended. */
static int bio_read(BIO *b, char *data, int len)
{
	struct tlsio *io = BIO_get_data(b);
	size_t have = pbuf_pending(&io->in), n;

	BIO_clear_retry_flags(b);
	if (len <= 0)
		return 0;
	if (!have) {
		if (io->eof)
			return 0;
		BIO_set_retry_read(b);
		return -1;
	}
	n = have < (size_t)len ? have : (size_t)len;
	memcpy(data, io->in.d + io->in.r, n);
	pbuf_consumed(&io->in, n);
	return (int)n;
}

static long bio_ctrl(BIO *b, int cmd, long num, void *ptr)
{
	struct tlsio *io = BIO_get_data(b);

	(void)num, (void)ptr;
	switch (cmd) {
	case BIO_CTRL_FLUSH:
		return 1; /* tlsio_flush writes, when the loop says so */
	case BIO_CTRL_PENDING:
		return io ? (long)pbuf_pending(&io->in) : 0;
	case BIO_CTRL_WPENDING:
		return io ? (long)pbuf_pending(&io->out) : 0;
	case BIO_CTRL_EOF:
		return io && io->eof && !pbuf_pending(&io->in);
	default:
		return 0;
	}
}


static int bio_create(BIO *b)
{
	BIO_set_init(b, 1);
	return 1;
}

static void method_init(void)
{
	method = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "sssonector tlsio");
	if (!method || !BIO_meth_set_write(method, bio_write) || !BIO_meth_set_read(method, bio_read) ||
	    !BIO_meth_set_ctrl(method, bio_ctrl) || !BIO_meth_set_create(method, bio_create))
		abort();
}

int tlsio_attach(struct tlsio *io, SSL *ssl, int fd, struct bufpool *pool)
{
	BIO *bio;

	pthread_once(&method_once, method_init);
	memset(io, 0, sizeof(*io));
	io->ssl = ssl;
	io->fd = fd;
	io->pool = pool;
	if (!(bio = BIO_new(method)))
		return -1;
	BIO_set_data(bio, io);
	SSL_set_bio(ssl, bio, bio);
	return 0;
}

void tlsio_free(struct tlsio *io)
{
	pbuf_release(io->pool, &io->in);
	pbuf_release(io->pool, &io->out);
	io->ssl = NULL;
}

size_t tlsio_room(const struct tlsio *io)
{
	return pbuf_room(&io->in);
}

size_t tlsio_unsent(const struct tlsio *io)
{
	return pbuf_pending(&io->out);
}

size_t tlsio_fill(struct tlsio *io)
{
	size_t total = 0;

	for (int i = 0; i < FILL_ROUNDS && !io->eof && !io->failed; i++) {
		if (!pbuf_reserve(io->pool, &io->in))
			break;
		size_t room = pbuf_space(&io->in);
		if (!room)
			break;
		ssize_t n = read(io->fd, io->in.d + io->in.w, room);
		io->dry = n < 0 || (size_t)n < room;
		if (n > 0) {
			io->in.w += (size_t)n;
			total += (size_t)n;
			pbuf_produced(io->pool, &io->in, room, (size_t)n);
			if ((size_t)n < room)
				break;
			continue;
		}
		if (n == 0)
			io->eof = true; /* SSL sees it once the buffered records are read */
		else if (errno != EAGAIN && errno != EINTR) {
			io->failed = true;
			io->err = errno;
		}
		break;
	}
	return total;
}

size_t tlsio_flush(struct tlsio *io)
{
	size_t total = 0;

	while (!io->failed && pbuf_pending(&io->out)) {
		size_t n = pbuf_pending(&io->out);
		ssize_t w = write(io->fd, io->out.d + io->out.r, n);
		if (w > 0) {
			pbuf_consumed(&io->out, (size_t)w);
			total += (size_t)w;
			if ((size_t)w < n)
				break;
			continue;
		}
		if (w < 0 && errno != EAGAIN && errno != EINTR) {
			io->failed = true;
			io->err = errno;
		}
		break;
	}
	return total;
}

void tlsio_idle(struct tlsio *io)
{
	pbuf_settle(io->pool, &io->in);
	pbuf_settle(io->pool, &io->out);
	/* refused (0) while a record is half read or half written: fine */
	if (io->ssl && !pbuf_pending(&io->in) && !pbuf_pending(&io->out))
		SSL_free_buffers(io->ssl);
}
