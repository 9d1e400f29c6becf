/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * libFuzzer entry point: the agent's side of the podwall-cni protocol
 * (agent/source/cni_server.c, pw_cni_parse_request), i.e. one request line
 * as it arrives on the agent's unix socket, then the registry it feeds.
 * `make fuzz` builds it; scripts/fuzz-smoke.sh runs it.
 *
 * Every line either parses into a valid endpoint (the checks below) or is
 * refused with a reason; never a crash, leak or sanitizer report. A parsed
 * ADD/CHECK goes into a registry, is answered, and is removed again.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "source/cni_server.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pw_cni_reg reg;
	struct pw_cni_ep ep;
	uint64_t cookie = 0;
	char op[8] = "", why[256] = "", *line, *ans;
	int r;

	line = malloc(size + 1);
	if (!line)
		return 0;
	memcpy(line, data, size);
	line[size] = 0;   /* the server reads one NUL-free line */
	r = pw_cni_parse_request(line, op, sizeof(op), &ep, &cookie, why, sizeof(why));
	free(line);
	if (r) {
		if (r != -EINVAL && r != -ENOMEM)
			abort();
		if (r == -EINVAL && !why[0])
			abort();      /* every refusal says why */
		ans = pw_cni_answer(false, 6, why, NULL, false);
		free(ans);
		return 0;
	}

	/* what a parsed request promises the server */
	if (strcmp(op, "ADD") && strcmp(op, "DEL") && strcmp(op, "CHECK"))
		abort();
	if (!ep.cid || !ep.cid[0] || strlen(ep.cid) > 255 || !ep.ns || !ep.name)
		abort();
	if (!ep.ifname[0] || !memchr(ep.ifname, 0, sizeof(ep.ifname)))
		abort();
	if (strcmp(op, "DEL")) {
		if (!ep.n_ips || ep.n_ips > 2 || !ep.ifindex || !ep.veth[0] ||
		    !memchr(ep.veth, 0, sizeof(ep.veth)))
			abort();
		if (!ep.ns[0] || strlen(ep.ns) > 63 || strchr(ep.ns, '/') ||
		    !ep.name[0] || strlen(ep.name) > 253 || strchr(ep.name, '/'))
			abort();
	}

	memset(&reg, 0, sizeof(reg));
	{
		char cid[256], ifname[16], pend[320];

		snprintf(cid, sizeof(cid), "%s", ep.cid);
		snprintf(ifname, sizeof(ifname), "%s", ep.ifname);
		pw_cni_pending_name(ep.ns, ep.name, pend, sizeof(pend));
		if (strlen(pend) > 253)
			abort();     /* the stand-in must be a valid object name length */
		if (!pw_cni_reg_put(&reg, &ep)) {
			free(ep.cid);
			free(ep.ns);
			free(ep.name);
		} else {
			if (!pw_cni_reg_find(&reg, cid, ifname))
				abort();
			if (pw_cni_reg_del(&reg, cid, ifname) != 1 || reg.n)
				abort();
		}
	}
	ans = pw_cni_answer(true, 0, op, NULL, true);
	free(ans);
	pw_cni_reg_free(&reg);
	return 0;
}
