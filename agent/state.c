/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Freeing, copying and comparing a compiled state (state.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "model.h"
#include "state.h"

void pw_state_free(struct pw_state *s)
{
	if (!s)
		return;
	free(s->eps);
	free(s->ipc);
	free(s->pol);
	free(s->ids);
	free(s->rules);
	free(s->names);
	memset(s, 0, sizeof(*s));
}

int pw_state_copy_kernel(struct pw_state *dst, const struct pw_state *src)
{
	memset(dst, 0, sizeof(*dst));
	dst->eps = malloc((src->n_eps ? src->n_eps : 1) * sizeof(*dst->eps));
	dst->ipc = malloc((src->n_ipc ? src->n_ipc : 1) * sizeof(*dst->ipc));
	dst->pol = malloc((src->n_pol ? src->n_pol : 1) * sizeof(*dst->pol));
	dst->names = malloc((src->n_names ? src->n_names : 1) * sizeof(*dst->names));
	if (!dst->eps || !dst->ipc || !dst->pol || !dst->names) {
		pw_state_free(dst);
		return -ENOMEM;
	}
	if (src->n_eps)
		memcpy(dst->eps, src->eps, src->n_eps * sizeof(*dst->eps));
	if (src->n_ipc)
		memcpy(dst->ipc, src->ipc, src->n_ipc * sizeof(*dst->ipc));
	if (src->n_pol)
		memcpy(dst->pol, src->pol, src->n_pol * sizeof(*dst->pol));
	if (src->n_names)
		memcpy(dst->names, src->names, src->n_names * sizeof(*dst->names));
	dst->n_names = src->n_names;
	dst->n_eps = src->n_eps;
	dst->n_ipc = src->n_ipc;
	dst->n_pol = src->n_pol;
	return 0;
}

static bool ep_equal(const struct pw_state_ep *a, const struct pw_state_ep *b)
{
	return a->ifindex == b->ifindex && a->ep_id == b->ep_id && a->identity == b->identity &&
	       a->flags == b->flags && a->dns_flags == b->dns_flags && a->n_ips == b->n_ips &&
	       !memcmp(a->ips, b->ips, sizeof(a->ips[0]) * (a->n_ips < 2 ? a->n_ips : 2)) &&
	       !strcmp(a->ns, b->ns) && !strcmp(a->name, b->name);
}

bool pw_state_kernel_equal(const struct pw_state *a, const struct pw_state *b)
{
	if (a->n_eps != b->n_eps || a->n_ipc != b->n_ipc || a->n_pol != b->n_pol ||
	    a->n_names != b->n_names)
		return false;
	if (a->n_names && memcmp(a->names, b->names, a->n_names * sizeof(*a->names)))
		return false;
	for (size_t i = 0; i < a->n_eps; i++)
		if (!ep_equal(&a->eps[i], &b->eps[i]))
			return false;
	for (size_t i = 0; i < a->n_ipc; i++)
		if (memcmp(&a->ipc[i], &b->ipc[i], sizeof(a->ipc[i])))
			return false;
	for (size_t i = 0; i < a->n_pol; i++)
		if (memcmp(&a->pol[i], &b->pol[i], sizeof(a->pol[i])))
			return false;
	return true;
}

static const char *span(const struct pw_state_rule *r, uint16_t at, uint16_t n, char *buf,
			size_t len)
{
	if (!r->tier || at >= sizeof(r->policy) || n > sizeof(r->policy) - at)
		n = 0;
	snprintf(buf, len, "%.*s", (int)n, r->policy + at);
	return buf;
}

const char *pw_state_rule_cnp(const struct pw_state_rule *r, char *buf, size_t len)
{
	return span(r, r->cnp_at, r->cnp_len, buf, len);
}

const char *pw_state_rule_name(const struct pw_state_rule *r, char *buf, size_t len)
{
	return span(r, r->rule_at, r->rule_len, buf, len);
}

const char *pw_tier_name(uint8_t tier)
{
	return tier == PW_TIER_ADMIN ? "admin" : tier == PW_TIER_BASELINE ? "baseline" : "netpol";
}

const char *pw_action_name(uint8_t action)
{
	return action == PW_ACT_ACCEPT ? "Accept" : action == PW_ACT_DENY ? "Deny"
		: action == PW_ACT_PASS ? "Pass" : "";
}
