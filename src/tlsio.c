/* SPDX-License-Identifier: MIT */
/*
 * tlsio.c - see tlsio.h.
 */
#include "tlsio.h"

#include <errno.h>
#include <unistd.h>

#include <openssl/bio.h>

int tlsio_attach(struct tlsio *io, SSL *ssl, int fd, size_t size)
{
	BIO *inner = NULL;

	io->ssl = ssl;
	io->fd = fd;
	io->eof = io->failed = false;
	io->err = 0;
	if (!BIO_new_bio_pair(&inner, size, &io->net, size))
		return -1;
	SSL_set_bio(ssl, inner, inner);
	return 0;
}

void tlsio_free(struct tlsio *io)
{
	BIO_free(io->net);
	io->net = NULL;
}

size_t tlsio_room(const struct tlsio *io)
{
	return BIO_ctrl_get_write_guarantee(io->net);
}

size_t tlsio_unsent(const struct tlsio *io)
{
	return BIO_ctrl_pending(io->net);
}

size_t tlsio_fill(struct tlsio *io)
{
	size_t total = 0;

	while (!io->eof && !io->failed) {
		char *p;
		ossl_ssize_t room = BIO_nwrite0(io->net, &p);
		if (room <= 0)
			break;
		ssize_t n = read(io->fd, p, (size_t)room);
		if (n > 0) {
			BIO_nwrite(io->net, &p, (int)n);
			total += (size_t)n;
			if (n < room)
				break;
			continue;
		}
		if (n == 0) {
			io->eof = true;
			/* The SSL object sees end of file once the buffered
			 * records are read. */
			BIO_shutdown_wr(io->net);
		} else if (errno != EAGAIN && errno != EINTR) {
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

	while (!io->failed) {
		char *p;
		ossl_ssize_t n = BIO_nread0(io->net, &p);
		if (n <= 0)
			break;
		ssize_t w = write(io->fd, p, (size_t)n);
		if (w > 0) {
			BIO_nread(io->net, &p, (int)w);
			total += (size_t)w;
			if (w < n)
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
