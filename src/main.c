/* SPDX-License-Identifier: MIT */
/*
 * main.c - command line of sssonector: run, --check, --print-config.
 *
 * Parses options and hands over; never applies anything itself.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "daemon.h"
#include "dataplane.h"

#define DEFAULT_CONFIG "/etc/sssonector/sssonector.conf"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: sssonector [-c FILE] [--syslog] [--pidfile FILE] [--user USER]\n"
		"       sssonector [-c FILE] --check | --print-config\n"
		"       sssonector --print-schema[=man] | --version | --help\n"
		"\n"
		"  -c, --config FILE    configuration file (default " DEFAULT_CONFIG ")\n"
		"  -t, --check          validate the configuration and the files it names,\n"
		"                       print every error, exit 0 if valid, 1 if not\n"
		"  -p, --print-config   print the effective configuration (defaults included,\n"
		"                       secrets masked)\n"
		"      --print-schema[=man]  print the table of settings (Markdown, or the\n"
		"                       man page's SETTINGS section)\n"
		"      --syslog         log to syslog instead of stderr\n"
		"      --pidfile FILE   write the process id to FILE (refuses a FILE that is a\n"
		"                       symlink, someone else's, or held by a running daemon)\n"
		"  -u, --user USER      after startup, run as USER with only the capabilities\n"
		"                       the transport needs (overrides the setting user)\n"
		"  -V, --version        print the version\n"
		"  -h, --help           print this help\n"
		"\n"
		"Runs in the foreground.  SIGHUP reloads the configuration, SIGTERM and\n"
		"SIGINT stop.  Exit status: 0 after a stop, 1 when the configuration is\n"
		"invalid or setup fails, 2 on a usage error.  See sssonector(8).\n");
}

/* --check and --print-config: load the file alone, print every error. */
static int check(const char *path, bool print)
{
	struct cfg_errors errs = { 0 };
	struct config *c = NULL;
	struct sbuf line = { 0 };

	if (cfg_load(path, NULL, 0, &c, &errs) != CFG_OK) {
		for (size_t i = 0; i < errs.n; i++) {
			sbuf_reset(&line);
			cfg_error_format(&errs.v[i], &line);
			fprintf(stderr, "%s\n", sbuf_str(&line));
		}
		sbuf_free(&line);
		cfg_errors_free(&errs);
		return 1;
	}
	for (size_t i = 0; i < c->warnings.n; i++) {
		sbuf_reset(&line);
		cfg_warning_format(&c->warnings.v[i], &line);
		fprintf(stderr, "%s\n", sbuf_str(&line));
	}
	/* what the caps may need against this process's descriptor limit */
	char warn[400];
	if (dp_fd_limit_warning(c, warn, sizeof(warn))) {
		struct cfg_error w = { .file = (char *)path, .message = warn };
		sbuf_reset(&line);
		cfg_warning_format(&w, &line);
		fprintf(stderr, "%s\n", sbuf_str(&line));
	}
	sbuf_free(&line);
	if (print) {
		cfg_print(c, stdout);
	} else {
		printf("%s: configuration is valid\n", path);
	}
	cfg_unref(c);
	cfg_errors_free(&errs);
	return fflush(stdout) == 0 ? 0 : 1;
}

int main(int argc, char **argv)
{
	enum { OPT_SYSLOG = 256, OPT_PIDFILE, OPT_SCHEMA };
	bool schema_man = false;
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "check", no_argument, NULL, 't' },
		{ "print-config", no_argument, NULL, 'p' },
		{ "print-schema", optional_argument, NULL, OPT_SCHEMA },
		{ "user", required_argument, NULL, 'u' },
		{ "syslog", no_argument, NULL, OPT_SYSLOG },
		{ "pidfile", required_argument, NULL, OPT_PIDFILE },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct daemon_opts o = { .config_path = DEFAULT_CONFIG };
	bool do_check = false, do_print = false;
	int ch;

	while ((ch = getopt_long(argc, argv, "c:tpu:Vh", opts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			o.config_path = optarg;
			break;
		case 't':
			do_check = true;
			break;
		case 'p':
			do_print = true;
			break;
		case OPT_SCHEMA:
			if (optarg && strcmp(optarg, "man") != 0 && strcmp(optarg, "md") != 0) {
				fprintf(stderr, "sssonector: --print-schema takes md or man, not %s\n", optarg);
				return 2;
			}
			schema_man = optarg && !strcmp(optarg, "man");
			if (schema_man)
				cfg_print_schema_man(stdout);
			else
				cfg_print_schema(stdout);
			return fflush(stdout) == 0 ? 0 : 1;
		case 'u':
			o.user = optarg;
			break;
		case OPT_SYSLOG:
			o.syslog = true;
			break;
		case OPT_PIDFILE:
			o.pidfile = optarg;
			break;
		case 'V':
			printf("sssonector %s\n", PACKAGE_VERSION);
			return 0;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "sssonector: unexpected argument: %s\n", argv[optind]);
		usage(stderr);
		return 2;
	}
	if (do_check || do_print)
		return check(o.config_path, do_print);
	return daemon_run(&o);
}
