/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Helpers shared by the unit suites (util.c). */
#ifndef PODWALL_TEST_UTIL_H
#define PODWALL_TEST_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include "compiler.h"
#include "model.h"

/* where tests/unit/data is (set by main) */
extern const char *t_data_dir;
/* where the conformance cases are, or NULL */
extern const char *t_cases_dir;

/* Load yaml (named "t.yaml") and finish; NULL on error with err filled and
 * *ret set (if not NULL). Notes on stderr are swallowed. */
struct pw_cluster *t_load(const char *yaml, struct pw_error *err, int *ret);
/* The error message of loading yaml ("" when it loads) and the return code */
int t_load_err(const char *yaml, char *msg, size_t len);
/* A test named fn: loading yaml is refused (-EINVAL) with a message that
 * holds want (needs check.h and errno.h where it is used). */
#define ERR_CASE(fn, yaml, want)                                              \
	static void fn(void)                                                  \
	{                                                                     \
		char m[1024];                                                 \
		CHECK_EQ(t_load_err(yaml, m, sizeof(m)), -EINVAL);            \
		CHECK_STR_CONTAINS(m, want);                                  \
	}
/* Load yaml and compile with opts (NULL: every pod local) into *s. */
struct pw_cluster *t_compile(const char *yaml, const struct pw_compile_opts *opts,
			     struct pw_state *s, struct pw_error *err);

/* Capture what is written to stderr (fd 2) between begin and end. */
void t_capture_begin(void);
/* returns a malloc'd NUL-terminated string */
char *t_capture_end(void);

/* "x/a" -> endpoint */
const struct pw_state_ep *t_ep(const struct pw_state *s, const char *ns, const char *name);
/* the identity the ipcache gives an address ("10.0.0.1") */
uint32_t t_ident(const struct pw_state *s, const char *ip);
/* Would the datapath allow src -> dst? Each side: "ns/pod" or an address. */
bool t_allowed(const struct pw_state *s, const char *src, const char *dst, uint16_t port,
	       uint8_t proto);

/* number of entries that differ between two sorted arrays (merge walk) */
size_t t_diff(const void *a, size_t na, const void *b, size_t nb, size_t size, size_t key_size);

#endif
