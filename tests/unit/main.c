/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The unit test binary: one suite per file, each returning its failures
 * (check.h's counters are per file). Run from the repository root, or
 * anywhere: fixtures are found next to the binary's source tree too.
 */
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "log.h"
#include "util.h"

int suite_selector(void);
int suite_load(void);
int suite_errors(void);
int suite_cnp(void);
int suite_hostile(void);
int suite_compile(void);
int suite_conformance(void);
int suite_ops(void);
int suite_filecache(void);
int suite_syntax(void);
int suite_kubeconfig(void);
int suite_source(void);
int suite_cache(void);
int suite_dumps(void);

static const char *find_dir(const char *argv0, const char *rel)
{
	static char buf[2][4096];
	static int k;
	char tmp[4096];
	char *b = buf[k++ & 1];

	if (access(rel, F_OK) == 0)
		return rel;
	/* build/tests/unit_tests -> ../../rel */
	snprintf(tmp, sizeof(tmp), "%s", argv0);
	snprintf(b, sizeof(buf[0]), "%s/../../%s", dirname(tmp), rel);
	if (access(b, F_OK) == 0)
		return b;
	return NULL;
}

/* what the loaders say while they go on (log.h), on stderr as podwall does:
 * tests capture it (notes, warnings) */
static void log_stderr(void *ctx, enum pw_log_level level, const char *line)
{
	fprintf(stderr, "%s\n", line);
}

int main(int argc, char **argv)
{
	int fails = 0;
	const char *d;

	(void)argc;
	pw_log_set(log_stderr, NULL);
	d = find_dir(argv[0], "tests/unit/data");
	if (d)
		t_data_dir = d;
	t_cases_dir = find_dir(argv[0], "tests/conformance/cases/upstream");

	fails += suite_selector();
	fails += suite_load();
	fails += suite_errors();
	fails += suite_hostile();
	fails += suite_compile();
	fails += suite_conformance();
	fails += suite_ops();
	fails += suite_filecache();
	fails += suite_syntax();
	fails += suite_kubeconfig();
	fails += suite_source();
	fails += suite_cache();
	fails += suite_dumps();
	fails += suite_cnp();
	return fails ? 1 : 0;
}
