// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * /healthz and /readyz from the engine's and the source's facts (health.h).
 */
#include <stdio.h>
#include "clock.h"
#include "engine/engine.h"
#include "ops/health.h"
#include "source/source.h"

static const struct pw_engine *engine; /* set before the server starts, cleared after it stops */

void pw_health_set_engine(const struct pw_engine *e)
{
	__atomic_store_n(&engine, e, __ATOMIC_RELEASE);
}

static bool facts(struct pw_engine_health *h)
{
	const struct pw_engine *e = __atomic_load_n(&engine, __ATOMIC_ACQUIRE);

	if (!e)
		return false;
	pw_engine_health(e, h);
	return true;
}

unsigned pw_health_live(char *buf, size_t len)
{
	struct pw_engine_health h;
	uint64_t now = pw_now_ns();

	if (!facts(&h) || !h.loop_ns) {
		snprintf(buf, len, "unhealthy: the event loop is not running\n");
		return 503;
	}
	if (now > h.loop_ns && now - h.loop_ns > (uint64_t)PW_HEALTH_STALL_S * 1000000000ull) {
		snprintf(buf, len, "unhealthy: the event loop has not turned for %.1f s\n",
			 (double)(now - h.loop_ns) / 1e9);
		return 503;
	}
	snprintf(buf, len, "ok\n");
	return 200;
}

unsigned pw_health_ready(char *buf, size_t len)
{
	struct pw_engine_health h;
	char why[256] = "";
	unsigned code = pw_health_live(buf, len);

	if (code != 200)
		return code;
	facts(&h);
	if (!pw_src_in_sync(why, sizeof(why)))
		snprintf(buf, len, "not ready: the source is not in sync: %s\n", why);
	else if (!h.source_in_sync)
		snprintf(buf, len, "not ready: the source's last load failed or is not pushed yet\n");
	else if (!h.synced)
		snprintf(buf, len, "not ready: no sync of the maps yet\n");
	else if (!h.attached)
		snprintf(buf, len, "not ready: the programs are not on every local endpoint "
			 "(the last attach failed or missed a device)\n");
	else
		return snprintf(buf, len, "ok\n"), 200;
	return 503;
}
