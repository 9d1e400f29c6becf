/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * A minimal test harness shared by the C suites. Every test prints one line,
 * "PASS name" or "FAIL name: why", which tests/run.sh counts across suites.
 *
 *   static void t_something(void) { CHECK(x == 1); CHECK_EQ(a, b); }
 *   int main(void) { RUN(t_something); return check_summary(); }
 */
#ifndef PODWALL_TEST_CHECK_H
#define PODWALL_TEST_CHECK_H

#include <stdio.h>
#include <string.h>

static int check_failed_now __attribute__((unused));   /* the running test has failed */
static int check_n_pass __attribute__((unused)), check_n_fail __attribute__((unused));
static char check_why[512] __attribute__((unused));

#define CHECK(cond) do {                                                     \
	if (!(cond) && !check_failed_now) {                                  \
		check_failed_now = 1;                                        \
		snprintf(check_why, sizeof(check_why), "%s:%d: %s",          \
			 __FILE__, __LINE__, #cond);                         \
	}                                                                    \
} while (0)

#define CHECK_EQ(a, b) do {                                                  \
	long long _a = (long long)(a), _b = (long long)(b);                  \
	if (_a != _b && !check_failed_now) {                                 \
		check_failed_now = 1;                                        \
		snprintf(check_why, sizeof(check_why), "%s:%d: %s == %s (%lld != %lld)", \
			 __FILE__, __LINE__, #a, #b, _a, _b);                \
	}                                                                    \
} while (0)

#define CHECK_STR_CONTAINS(hay, needle) do {                                 \
	const char *_h = (hay), *_n = (needle);                              \
	if ((!_h || !strstr(_h, _n)) && !check_failed_now) {                 \
		check_failed_now = 1;                                        \
		snprintf(check_why, sizeof(check_why), "%s:%d: \"%.300s\" lacks \"%s\"", \
			 __FILE__, __LINE__, _h ? _h : "(null)", _n);        \
	}                                                                    \
} while (0)

#define RUN(fn) do {                                                         \
	check_failed_now = 0;                                                \
	check_why[0] = 0;                                                    \
	fn();                                                                \
	if (check_failed_now) {                                              \
		check_n_fail++;                                              \
		printf("FAIL %s: %s\n", #fn, check_why);                     \
	} else {                                                             \
		check_n_pass++;                                              \
		printf("PASS %s\n", #fn);                                    \
	}                                                                    \
	fflush(stdout);                                                      \
} while (0)

static inline int check_summary(void)
{
	return check_n_fail ? 1 : 0;
}

#endif
