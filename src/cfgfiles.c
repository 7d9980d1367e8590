/* SPDX-License-Identifier: MIT */
/*
 * cfgfiles.c - the resource checks of a configuration: the certificate,
 * key and CA it names exist, are readable and parse, the key matches the
 * certificate, and the key, the configuration file, its directory and its
 * included files have safe permissions.  The bytes read are kept in the
 * snapshot, so that "what changed" and the hash cover them.
 *
 * OpenSSL must never prompt: every call that may meet an encrypted key is
 * given a password callback, which answers with tunnel.key_password or
 * refuses.  The password never appears in an error.  The OpenSSL error
 * queue is left empty.
 */

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "config.h"

#define BIT(i) (UINT64_C(1) << (i))

/* What the password callback was asked and could answer. */
struct pw_ctx {
	const char *password;
	bool asked;
};

static int pw_cb(char *buf, int size, int rwflag, void *u)
{
	struct pw_ctx *p = u;
	size_t n;

	p->asked = true;
	if (!p->password)
		return -1;
	n = strlen(p->password);
	if (n > (size_t)size)
		return -1;
	memcpy(buf, p->password, n);
	return (int)n;
}

/* Where setting key was written (the main file when it came from a
 * default), for an error about it. */
static void file_err(const struct config *c, const char *key, const char *value, struct cfg_errors *errs,
		     const char *msg, const char *arg)
{
	const struct cfg_setting *s = cfg_setting_find(key);
	size_t i = cfg_setting_index(s);
	bool has = c->has & BIT(i);

	cfg_errors_add(errs, has && c->src[i] ? c->src[i] : c->path, has ? c->line[i] : 0, key, value,
		       "%s%s", msg, arg);
}

/* Read the file setting key names into blob; false (and an error) if it
 * cannot be read. */
static bool load_blob(const struct config *c, const char *key, const char *path, struct cfg_blob *blob,
		      struct cfg_errors *errs)
{
	int r = read_file(path, &blob->data, &blob->len);

	if (r < 0) {
		file_err(c, key, path, errs, "cannot read file: ", strerror(-r));
		return false;
	}
	return true;
}

static BIO *blob_bio(const struct cfg_blob *b)
{
	BIO *bio = BIO_new_mem_buf(b->data, (int)b->len);

	if (!bio)
		abort();
	return bio;
}

static X509 *check_cert(struct config *c, struct cfg_errors *errs)
{
	const char *path = c->tunnel.cert_file;
	X509 *x = NULL;
	struct pw_ctx pw = { 0 };

	if (!path || !load_blob(c, "tunnel.cert_file", path, &c->cert, errs))
		return NULL;
	BIO *bio = blob_bio(&c->cert);
	x = PEM_read_bio_X509(bio, NULL, pw_cb, &pw);
	BIO_free(bio);
	if (!x)
		file_err(c, "tunnel.cert_file", path, errs, "is not a PEM certificate", "");
	return x;
}

static void check_key_mode(const struct config *c, const char *path, struct cfg_errors *errs)
{
	struct stat st;

	if (stat(path, &st) < 0)
		return;
	if (st.st_mode & S_IROTH)
		file_err(c, "tunnel.key_file", path, errs, "private key file is readable by others (chmod o-r)", "");
	if (st.st_mode & S_IWOTH)
		file_err(c, "tunnel.key_file", path, errs, "private key file is writable by others (chmod o-w)", "");
	if (st.st_mode & S_IWGRP)
		file_err(c, "tunnel.key_file", path, errs, "private key file is writable by group (chmod g-w)", "");
}

static void check_key(struct config *c, X509 *cert, struct cfg_errors *errs)
{
	const char *path = c->tunnel.key_file;
	struct pw_ctx pw = { .password = c->tunnel.key_password };
	EVP_PKEY *pkey;

	if (!path || !load_blob(c, "tunnel.key_file", path, &c->key, errs))
		return;
	check_key_mode(c, path, errs);
	BIO *bio = blob_bio(&c->key);
	pkey = PEM_read_bio_PrivateKey(bio, NULL, pw_cb, &pw);
	BIO_free(bio);
	if (!pkey) {
		if (!pw.asked)
			file_err(c, "tunnel.key_file", path, errs, "is not a PEM private key", "");
		else if (!pw.password)
			file_err(c, "tunnel.key_file", path, errs,
				 "private key is encrypted and tunnel.key_password is not set", "");
		else
			file_err(c, "tunnel.key_file", path, errs, "cannot decrypt private key with tunnel.key_password",
				 "");
		return;
	}
	if (cert && X509_check_private_key(cert, pkey) != 1)
		file_err(c, "tunnel.key_file", path, errs, "private key does not match tunnel.cert_file", "");
	EVP_PKEY_free(pkey);
}

static void check_ca(struct config *c, struct cfg_errors *errs)
{
	const char *path = c->tunnel.ca_file;
	struct pw_ctx pw = { 0 };
	int n = 0;

	if (!path || !load_blob(c, "tunnel.ca_file", path, &c->ca, errs))
		return;
	BIO *bio = blob_bio(&c->ca);
	STACK_OF(X509_INFO) *infos = PEM_X509_INFO_read_bio(bio, NULL, pw_cb, &pw);
	BIO_free(bio);
	for (int i = 0; infos && i < sk_X509_INFO_num(infos); i++)
		n += sk_X509_INFO_value(infos, i)->x509 != NULL;
	sk_X509_INFO_pop_free(infos, X509_INFO_free);
	if (n == 0)
		file_err(c, "tunnel.ca_file", path, errs, "contains no certificate", "");
}

/* The configuration may only be changed by its owner: a group- or
 * world-writable file or directory lets others reconfigure the daemon. */
static void check_conf_mode(const char *path, bool dir, bool missing_ok, struct cfg_errors *errs)
{
	struct stat st;

	if (stat(path, &st) < 0) {
		if (!missing_ok || errno != ENOENT)
			cfg_errors_add(errs, path, 0, NULL, NULL, "cannot read file: %s", strerror(errno));
		return;
	}
	if (st.st_mode & (S_IWGRP | S_IWOTH))
		cfg_errors_add(errs, path, 0, NULL, NULL, "configuration %s is writable by group or others",
			       dir ? "directory" : "file");
}

int cfg_check_files(struct config *c, bool have_text, struct cfg_errors *errs)
{
	size_t n0 = errs->n;
	const char *slash = strrchr(c->path, '/');
	char *dir = slash == c->path ? strdup("/") : slash ? strndup(c->path, (size_t)(slash - c->path)) : strdup(".");

	if (!dir)
		abort();
	check_conf_mode(c->path, false, have_text, errs);
	check_conf_mode(dir, true, false, errs);
	for (size_t k = 0; k < c->n_includes; k++)
		if (c->includes[k].blob.data)
			check_conf_mode(c->includes[k].path, false, true, errs);

	X509 *cert = check_cert(c, errs);
	check_key(c, cert, errs);
	check_ca(c, errs);
	X509_free(cert);
	ERR_clear_error();
	free(dir);
	return (int)(errs->n - n0);
}
