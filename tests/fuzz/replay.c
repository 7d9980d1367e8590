/* SPDX-License-Identifier: MIT */
/*
 * replay.c - run a fuzz harness over files, without libFuzzer: the
 * regression set of make check.  Each argument is a file or a directory
 * (every regular file in it, in name order).  A harness reports a broken
 * invariant by aborting; the sanitizer build reports the rest.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz_common.h"
#include "util.h"

#pragma weak LLVMFuzzerInitialize

static int by_name(const struct dirent **a, const struct dirent **b)
{
	return strcmp((*a)->d_name, (*b)->d_name);
}

static int replay(const char *path)
{
	unsigned char *data = NULL;
	size_t len = 0;
	int r = read_file(path, SIZE_MAX - 1, &data, &len);

	if (r < 0) {
		struct sbuf why = { 0 };
		read_file_error(r, SIZE_MAX - 1, &why);
		fprintf(stderr, "replay: %s %s\n", path, sbuf_str(&why));
		sbuf_free(&why);
		return -1;
	}
	LLVMFuzzerTestOneInput(data, len);
	free(data);
	return 0;
}

int main(int argc, char **argv)
{
	size_t n = 0;

	if (LLVMFuzzerInitialize)
		LLVMFuzzerInitialize(&argc, &argv);
	for (int i = 1; i < argc; i++) {
		struct stat st;
		if (stat(argv[i], &st) != 0) {
			fprintf(stderr, "replay: %s: no such file or directory\n", argv[i]);
			return 2;
		}
		if (!S_ISDIR(st.st_mode)) {
			if (replay(argv[i]) < 0)
				return 2;
			n++;
			continue;
		}
		struct dirent **names;
		int m = scandir(argv[i], &names, NULL, by_name);
		for (int k = 0; k < m; k++) {
			char p[4096];
			snprintf(p, sizeof(p), "%s/%s", argv[i], names[k]->d_name);
			if (names[k]->d_name[0] != '.' && stat(p, &st) == 0 && S_ISREG(st.st_mode)) {
				if (replay(p) < 0)
					return 2;
				n++;
			}
			free(names[k]);
		}
		free(names);
	}
	printf("replayed %zu inputs\n", n);
	return 0;
}
