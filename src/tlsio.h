/* SPDX-License-Identifier: MIT */
/*
 * tlsio.h - batched socket I/O under an SSL object.
 *
 * OpenSSL writes every TLS record with its own write(2) and reads in
 * record-sized pieces.  On a virtual machine a system call costs more
 * than encrypting 16 KiB, so the data plane puts a memory BIO of its own
 * between the SSL object and the socket: SSL_write fills a buffer with
 * records and one write(2) sends them; one read(2) fetches many records
 * that SSL_read then takes from memory.  The buffers come from the data
 * plane's pool (bufpool.h): a connection holds them only while ciphertext
 * waits in them, small at first and bulk while the stream is busy, and a
 * full buffer is backpressure.  tlsio_idle() also lets OpenSSL drop its
 * own record buffers, so an idle connection holds no buffer at all.
 *
 * Non-blocking, data thread only.
 */
#ifndef SSS_TLSIO_H
#define SSS_TLSIO_H

#include <stdbool.h>
#include <stddef.h>

#include <openssl/ssl.h>

#include "bufpool.h"

struct tlsio {
	SSL *ssl;
	int fd;
	struct bufpool *pool;
	struct pbuf in, out; /* ciphertext from / to the socket */
	bool eof;      /* the socket reached end of file */
	bool dry;      /* the last read found the socket empty (or read it short) */
	bool failed;   /* a socket error: the connection is gone */
	int err;       /* errno of that failure */
};

/* Put the buffers between ssl (it takes the BIO; from the handshake on,
 * or once it is done) and fd.  Returns 0 or -1. */
int tlsio_attach(struct tlsio *io, SSL *ssl, int fd, struct bufpool *pool);
/* Give the buffers back; the SSL object owns and frees the BIO, and must
 * not be used for I/O after this (it never touches the SSL object, so
 * either may go first). */
void tlsio_free(struct tlsio *io);

/* Read from the socket while there is room (at most a few read(2)s).
 * Returns bytes read (0: nothing now, no room or no memory). */
size_t tlsio_fill(struct tlsio *io);
/* Write pending ciphertext to the socket.  Returns bytes written. */
size_t tlsio_flush(struct tlsio *io);
/* Ciphertext waiting to be written. */
size_t tlsio_unsent(const struct tlsio *io);
/* Room for ciphertext from the socket (a buffer not taken yet counts). */
size_t tlsio_room(const struct tlsio *io);
/* Nothing moves now: give back the empty buffers, and OpenSSL's record
 * buffers when it holds nothing in them. */
void tlsio_idle(struct tlsio *io);

#endif
