/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* metav1.LabelSelector semantics (model.h). */
#include <stdlib.h>
#include <string.h>
#include "model.h"

static int label_key_cmp(const void *key, const void *elem)
{
	return strcmp(key, ((const struct pw_label *)elem)->key);
}

static const char *label_get(const struct pw_labels *l, const char *key)
{
	const struct pw_label *x;

	if (!l || !l->n)
		return NULL;
	x = bsearch(key, l->v, l->n, sizeof(*l->v), label_key_cmp);
	return x ? x->value : NULL;
}

static bool in_values(const struct pw_sel_req *r, const char *v)
{
	for (size_t i = 0; i < r->n_values; i++)
		if (!strcmp(r->values[i], v))
			return true;
	return false;
}

bool pw_selector_matches(const struct pw_selector *sel, const struct pw_labels *labels)
{
	if (!sel || !sel->present)
		return true;
	for (size_t i = 0; i < sel->match_labels.n; i++) {
		const char *v = label_get(labels, sel->match_labels.v[i].key);

		if (!pw_sel_op_holds(PW_SEL_IN, v, v && !strcmp(v, sel->match_labels.v[i].value)))
			return false;
	}
	for (size_t i = 0; i < sel->n_exprs; i++) {
		const struct pw_sel_req *r = &sel->exprs[i];
		const char *v = label_get(labels, r->key);

		if (!pw_sel_op_holds(r->op, v, v && in_values(r, v)))
			return false;
	}
	return true;
}
