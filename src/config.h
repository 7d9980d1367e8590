/* SPDX-License-Identifier: MIT */
/*
 * config.h - the configuration model: one settings table, immutable
 * refcounted snapshots, and the error list every consumer prints.
 *
 * A struct config is built once by cfg_load() and never modified after:
 * whoever needs it later takes a reference (cfg_ref) and drops it
 * (cfg_unref).  The engine swaps the current pointer; sessions keep the
 * snapshot they started under.  Nothing in this module applies anything.
 */
#ifndef SSS_CONFIG_H
#define SSS_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "util.h"

/* ---- errors -------------------------------------------------------- */

/* One problem with a configuration.  Printed by cfg_error_format() as
 * "FILE:LINE: KEY: message (got: VALUE)"; the ":LINE", "KEY: " and
 * " (got: VALUE)" parts are left out when unknown (line 0, NULL). */
struct cfg_error {
	char *file;
	int line;
	char *key;
	char *message;
	char *value;
};

struct cfg_errors {
	struct cfg_error *v;
	size_t n, cap;
};

void cfg_errors_add(struct cfg_errors *errs, const char *file, int line, const char *key,
		    const char *value, const char *fmt, ...) __attribute__((format(printf, 6, 7)));
void cfg_errors_clear(struct cfg_errors *errs);
void cfg_errors_free(struct cfg_errors *errs);
/* Append errs' entries to dst (copies). */
void cfg_errors_append(struct cfg_errors *dst, const struct cfg_errors *src);
void cfg_error_format(const struct cfg_error *e, struct sbuf *out);
/* The same for a warning: "FILE:LINE: KEY: warning: message ...". */
void cfg_warning_format(const struct cfg_error *e, struct sbuf *out);

/* ---- the model ----------------------------------------------------- */

enum cfg_mode { CFG_MODE_SERVER = 0, CFG_MODE_CLIENT = 1 };
enum cfg_transport { CFG_TRANSPORT_FORWARD = 0, CFG_TRANSPORT_TUN = 1 };
enum cfg_tls_version { CFG_TLS_1_2 = 0, CFG_TLS_1_3 = 1 };
enum cfg_start_invalid { CFG_START_REFUSE = 0, CFG_START_LAST_GOOD = 1 };
/* tunnel.trust: chain: a peer's chain must reach a self-signed root in
 * ca_file; partial: any certificate in ca_file is a trust anchor. */
enum cfg_trust { CFG_TRUST_CHAIN = 0, CFG_TRUST_PARTIAL = 1 };
/* tunnel.crl_expired: a CRL past its nextUpdate still applies (warn) or
 * refuses the configuration and every peer (refuse). */
enum cfg_crl_expired { CFG_CRL_EXPIRED_WARN = 0, CFG_CRL_EXPIRED_REFUSE = 1 };
/* monitor.snmp_write: what an SNMP SET may change, each level including
 * the ones before it. */
enum cfg_snmp_write { CFG_SNMP_WRITE_RATES = 0, CFG_SNMP_WRITE_RELOAD = 1, CFG_SNMP_WRITE_ALL = 2 };
/* logging.level uses enum log_level's numbering (error, warning, info, debug). */

/* The bytes of a file the configuration names (certificate, key, CA), read
 * when the snapshot was loaded: "what changed" and the hash cover them. */
struct cfg_blob {
	unsigned char *data;
	size_t len;
};

struct cfg_file {
	char *path;
	struct cfg_blob blob;
};

struct cfg_strlist {
	char **v;
	size_t n;
};

struct config {
	int refs; /* atomic; see cfg_ref/cfg_unref */

	char *path;                 /* the configuration file, as given */
	unsigned char *text;        /* the main file's bytes this was loaded from */
	size_t text_len;
	struct cfg_file *includes;  /* files read through @include, in order, */
	size_t n_includes;          /* with their bytes at load time */

	uint64_t has;                      /* bit i: setting i was written in a file */
	unsigned short line[64];           /* bit i's source line (0: default) */
	const char *src[64];               /* bit i's source file (points into path/includes) */

	enum cfg_mode mode;
	enum cfg_transport transport;
	char *user;
	struct {
		char *listen, *server, *server_name;
		char *cert_file, *key_file, *ca_file, *key_password, *crl_file;
		struct cfg_strlist allowed_peers;
		struct cfg_strlist peers;   /* tun server: "name=address" entries */
		int trust;            /* enum cfg_trust */
		int crl_expired;      /* enum cfg_crl_expired */
		int expiry_warn_days; /* 0: off */
		int max_clients, max_pending, max_pending_per_source;
		int handshake_timeout_ms, keepalive_s;
		enum cfg_tls_version tls_min_version;
		char *tls_groups;
		char *tls_ciphersuites, *tls_ciphers;
		int upload_kbps, download_kbps;
	} tunnel;
	struct {
		bool enabled;
		int burst_ms;
	} throttle;
	struct {
		char *listen, *target;
		int max_streams, idle_timeout_s;
	} forward;
	struct {
		char *interface, *address;
		int mtu;
	} network;
	struct {
		bool snmp_enabled;
		char *agentx_socket;
		int agentx_ping_s;
		bool notifications;
		int snmp_write; /* enum cfg_snmp_write */
		char *snmp_context;
	} monitor;
	struct {
		int level;
	} logging;
	struct {
		bool watch;
		int debounce_ms;
		int history;
		char *state_dir;
		enum cfg_start_invalid start_invalid;
	} reload;

	/* contents of tunnel.cert_file, key_file, ca_file, crl_file: see
	 * cfg_file_blob, the one map from a CFG_F_FILE row to its bytes */
	struct cfg_blob cert, key, ca, crl;

	/* Problems that do not stop the configuration (a certificate that
	 * expires soon): --check prints them, a reload logs them. */
	struct cfg_errors warnings;

	/* SHA-256 over the canonical effective configuration (secrets as their
	 * own SHA-256) followed by the contents of cert, key and ca. */
	uint8_t hash[SHA256_LEN];
};

/* ---- the settings table -------------------------------------------- */

enum cfg_type {
	CFG_T_BOOL,
	CFG_T_INT,
	CFG_T_STRING,   /* free text */
	CFG_T_ENUM,     /* one of values[], stored as its index (int or enum) */
	CFG_T_HOSTPORT, /* "host:port", "[v6]:port" */
	CFG_T_PATH,     /* a file path */
	CFG_T_STRLIST,  /* list of strings */
	CFG_T_CIDR,     /* "a.b.c.d/len" or an IPv6 prefix */
	CFG_T_IFNAME,   /* a Linux interface name */
};

enum cfg_flags {
	CFG_F_RESTART = 1 << 0,       /* cannot change while running */
	CFG_F_SECRET = 1 << 1,        /* masked in logs, --print-config, diffs */
	CFG_F_SNMP_WRITABLE = 1 << 2, /* has a writable MIB object */
	CFG_F_FILE = 1 << 3,          /* names a file whose content is tracked */
	CFG_F_ZERO_OFF = 1 << 4,      /* CFG_T_INT: 0 means "off", else min..max */
};

/* A condition on mode and transport: when a setting is required, and where
 * it means anything at all. */
enum cfg_required {
	CFG_REQ_NEVER = 0,
	CFG_REQ_ALWAYS,
	CFG_REQ_SERVER,          /* mode = server */
	CFG_REQ_CLIENT,          /* mode = client */
	CFG_REQ_TUN,             /* transport = tun */
	CFG_REQ_FORWARD_CLIENT,  /* client and forward */
	CFG_REQ_FORWARD_SERVER,  /* server and forward */
	CFG_REQ_TUN_SERVER,      /* server and tun */
};

/* Which running parts react to a setting (a row's components mask): a
 * component looks at the mask of what changed (cfg_changed_components)
 * instead of naming keys itself. */
enum cfg_component {
	CFG_C_TLS = 1 << 0,       /* a new TLS context, and a revocation sweep */
	CFG_C_LISTEN = 1 << 1,    /* a new listening socket */
	CFG_C_RESOLVE = 1 << 2,   /* tunnel.server / forward.target resolved again */
	CFG_C_DATAPLANE = 1 << 3, /* read by the data plane: sessions, limits, buckets */
	CFG_C_TUN = 1 << 4,       /* the TUN device */
	CFG_C_LOGGING = 1 << 5,
	CFG_C_WATCH = 1 << 6,
	CFG_C_SNMP = 1 << 7,
	CFG_C_ENGINE = 1 << 8,    /* the engine itself (history) */
};
/* Every bit the data plane's component reacts to. */
#define CFG_C_TUNNEL_ANY (CFG_C_TLS | CFG_C_LISTEN | CFG_C_RESOLVE | CFG_C_DATAPLANE | CFG_C_TUN)

struct cfg_setting {
	const char *key;           /* "tunnel.upload_kbps" */
	enum cfg_type type;
	size_t offset;             /* into struct config */
	long long min, max;        /* CFG_T_INT bounds, inclusive */
	const char *const *values; /* CFG_T_ENUM names, NULL-terminated */
	const char *def;           /* default, written as in a file (NULL: none) */
	unsigned flags;            /* enum cfg_flags */
	enum cfg_required required;
	/* Where the setting means anything (CFG_REQ_NEVER: everywhere).  Set
	 * explicitly elsewhere it is an error, "is only used when mode =
	 * \"server\""; its default is still filled in (and --print-config
	 * prints it commented out) so that the snapshot is complete. */
	enum cfg_required scope;
	/* Extra check of a string value (after the type's own), or of each
	 * item of a list: NULL if fine, else the message.  NULL pointer: no
	 * extra check. */
	const char *(*check)(const char *value);
	/* A rule against the rest of the configuration (cross-field), run
	 * when the setting and what it depends on parsed: NULL if fine, else
	 * the message (buf may hold it).  NULL pointer: none. */
	const char *(*cross)(const struct config *c, char *buf, size_t len);
	unsigned components;       /* enum cfg_component: who reacts to a change */
	const char *doc;           /* one line for the docs table and --help-config */
};

extern const struct cfg_setting cfg_settings[];

/* Value checks the rows reference (cfgcheck.c): NULL, or why not. */
const char *cfg_check_hostport(const char *value);
const char *cfg_check_server_name(const char *value);
const char *cfg_check_agentx(const char *value);
const char *cfg_check_cidr(const char *value);
const char *cfg_check_context(const char *value);
const char *cfg_check_ifname(const char *value);
const char *cfg_check_user(const char *value);
const char *cfg_check_state_dir(const char *value);
const char *cfg_check_tls_groups(const char *value);
const char *cfg_check_tls_ciphersuites(const char *value);
const char *cfg_check_tls_ciphers(const char *value);
const char *cfg_check_peer(const char *entry);
const char *cfg_cross_peers(const struct config *c, char *buf, size_t len);
extern const size_t cfg_n_settings;

/* The row for key, or NULL.  */
const struct cfg_setting *cfg_setting_find(const char *key);
/* The index of a row in cfg_settings (for the has/line arrays). */
size_t cfg_setting_index(const struct cfg_setting *s);
/* The closest known key to an unknown one, or NULL if none is close. */
const char *cfg_suggest_key(const char *key);
/* The value of setting s in c as it would be written in a file ("10000",
 * "true", "\"server\"", "[ \"a\", \"b\" ]"); secrets masked unless raw. */
void cfg_value_format(const struct config *c, const struct cfg_setting *s, bool raw, struct sbuf *out);
/* The value for people (audit diffs, SNMP strings): like cfg_value_format
 * but strings without quotes, lists as "[a,b]", secrets always masked, an
 * unset value as "(unset)". */
void cfg_value_text(const struct config *c, const struct cfg_setting *s, struct sbuf *out);
/* Whether setting s has a value in c (a string setting may be unset). */
bool cfg_value_is_set(const struct config *c, const struct cfg_setting *s);
/* The bytes of the file a CFG_F_FILE row names, as c holds them (NULL
 * for any other row). */
const struct cfg_blob *cfg_file_blob(const struct config *c, const struct cfg_setting *s);
/* Whether setting s has the same value in a and b. */
bool cfg_value_equal(const struct config *a, const struct config *b, const struct cfg_setting *s);

/* Whether the condition of a CFG_REQ_* holds for c's mode and transport
 * (CFG_REQ_NEVER and CFG_REQ_ALWAYS: always), and its text for messages:
 * "mode = \"client\" and transport = \"forward\"" ("" for those two). */
bool cfg_required_holds(const struct config *c, enum cfg_required r);
const char *cfg_required_text(enum cfg_required r);

/*
 * Split "host:port" or "[v6]:port" into host (brackets removed) and port,
 * checking that host is a DNS name or an IP literal and port is 1..65535.
 * Returns 0, or -1 (host and port then undefined).
 */
int cfg_hostport_split(const char *hostport, char *host, size_t host_len, int *port);

/* name taken from dir unless it is absolute (malloc'd): how relative
 * paths in a configuration, and @include names, are read. */
char *cfg_path_resolve(const char *dir, const char *name);

/* ---- loading and checking ------------------------------------------ */

/* Limits on the files a configuration is made of (docs/configuration.md).
 * A file over its limit, or one that is not a regular file, is refused
 * before libconfig or OpenSSL sees a byte of it. */
#define CFG_FILE_MAX (256 * 1024)      /* the configuration file, and each @include'd one */
#define CFG_TEXT_MAX (1024 * 1024)     /* the configuration with its @includes expanded */
#define CFG_PEM_MAX (4 * 1024 * 1024)  /* tunnel.cert_file, key_file, ca_file */
#define CFG_MAX_INCLUDES 64            /* distinct @include'd files */
#define CFG_INCLUDE_DEPTH 10           /* @include inside @include'd files, as libconfig */

enum cfg_status {
	CFG_OK = 0,
	CFG_ERR_IO = 1,      /* the file cannot be read */
	CFG_ERR_PARSE = 2,   /* libconfig syntax error */
	CFG_ERR_INVALID = 3, /* types, ranges, required keys, cross-field rules, resources */
};

/*
 * Build a snapshot from the configuration file path.  When text is not
 * NULL those len bytes are used as the file's content instead of reading
 * it (rollback and SNMP write-back build candidates this way); @include is
 * still resolved relative to path's directory.
 *
 * Checks everything a file alone can be checked for: syntax, unknown keys
 * (with a "did you mean"), types, ranges, enumerations, required keys,
 * cross-field rules, and the resources it names (files exist, parse, key
 * matches certificate, permissions).  Every problem is appended to errs,
 * not only the first.  On CFG_OK *out is a new snapshot with one reference
 * owned by the caller; otherwise *out is NULL.
 */
enum cfg_status cfg_load(const char *path, const void *text, size_t len, struct config **out,
			 struct cfg_errors *errs);
/* cfg_load without the resources: the files the settings name are not
 * read or checked (cert, key and ca stay empty, the hash does not cover
 * them).  For comparing what a text says, never for running it. */
enum cfg_status cfg_parse(const char *path, const void *text, size_t len, struct config **out,
			  struct cfg_errors *errs);

/*
 * The rules against what is running: every CFG_F_RESTART setting that
 * differs between running and candidate is an error
 * "KEY: cannot change while running (restart required)", located where
 * the candidate sets it, with its new value.  Returns the number of errors
 * added (0 when running is NULL).
 */
int cfg_check_change(const struct config *running, const struct config *candidate,
		     struct cfg_errors *errs);

/*
 * What changed from a to b, on effective values and named files' content.
 * audit gets "key:old->new" items separated by commas (secrets masked,
 * content changes as "tunnel.cert_file(content)"), keys gets the bare keys
 * separated by commas.  Either may be NULL.  Returns the number of changes.
 * With no a (startup) or no b nothing is compared: 0, nothing appended.
 */
int cfg_diff(const struct config *a, const struct config *b, struct sbuf *audit, struct sbuf *keys);

/* The enum cfg_component bits of every setting (or named file's content)
 * that differs between a and b; every bit when a is NULL (startup). */
unsigned cfg_changed_components(const struct config *a, const struct config *b);

/* The effective configuration in libconfig syntax, defaults included and
 * secrets masked; cfg_load accepts what it prints. */
void cfg_print(const struct config *c, FILE *out);
/* The settings table as a Markdown table (docs/configuration.md). */
void cfg_print_schema(FILE *out);
/* The same rows as man(7) paragraphs (the SETTINGS section of
 * sssonector.conf(5)). */
void cfg_print_schema_man(FILE *out);

/*
 * Internal to the config module (cfg_load calls it): check the files c
 * names and store their bytes (cert, key, ca), and check the permissions
 * of the configuration file, its directory and its included files.  When
 * have_text is set a missing configuration file is not an error.  Returns
 * the number of errors added.
 */
int cfg_check_files(struct config *c, bool have_text, struct cfg_errors *errs);

struct config *cfg_ref(struct config *c);
void cfg_unref(struct config *c);

#endif
