/* SPDX-License-Identifier: MIT */
/*
 * tlsio.h - batched socket I/O under an SSL object.
 *
 * OpenSSL writes every TLS record with its own write(2) and reads in
 * record-sized pieces.  On a virtual machine a system call costs more
 * than encrypting 16 KiB, so the data plane puts a BIO pair between the
 * SSL object and the socket: SSL_write fills a large buffer with records
 * and one write(2) sends them; one read(2) fetches many records that
 * SSL_read then takes from memory.  The buffers are fixed-size: memory
 * does not grow with the stream, and a full buffer is backpressure.
 *
 * Non-blocking, data thread only.
 */
#ifndef SSS_TLSIO_H
#define SSS_TLSIO_H

#include <stdbool.h>
#include <stddef.h>

#include <openssl/ssl.h>

struct tlsio {
	SSL *ssl;
	BIO *net;      /* our half of the pair: ciphertext to/from the socket */
	int fd;
	bool eof;      /* the socket reached end of file */
	bool failed;   /* a socket error: the connection is gone */
	int err;       /* errno of that failure */
};

/* Put a BIO pair of size bytes per direction between ssl and fd (ssl
 * takes its half).  Returns 0 or -1. */
int tlsio_attach(struct tlsio *io, SSL *ssl, int fd, size_t size);
void tlsio_free(struct tlsio *io);

/* Read from the socket into the pair while it has room (at most one or
 * two read(2)s).  Returns bytes read (0: nothing now or no room). */
size_t tlsio_fill(struct tlsio *io);
/* Write pending ciphertext to the socket.  Returns bytes written. */
size_t tlsio_flush(struct tlsio *io);
/* Ciphertext waiting to be written. */
size_t tlsio_unsent(const struct tlsio *io);
/* Room for ciphertext from the socket. */
size_t tlsio_room(const struct tlsio *io);

#endif
