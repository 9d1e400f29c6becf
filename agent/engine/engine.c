// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The engine's life cycle (engine.h): build it from a configuration and
 * hooks, open the BPF object with its pins, take the pin dir's lock, log
 * through the hook, report health. The stages are in push.c, the loop in
 * loop.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/file.h>
#include "engine/internal.h"
#include "kernel/bpfobj.h"
#include "kernel/netns.h"

void pw_engine_log(const struct pw_engine *e, const char *fmt, ...)
{
	char line[1536];
	va_list ap;

	if (!e->hooks.log)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	e->hooks.log(e->hooks.ctx, line);
}

int pw_engine_new(const struct pw_engine_config *cfg, const struct pw_engine_hooks *hooks,
		  struct pw_engine **out)
{
	struct pw_engine *e;
	int err;

	*out = NULL;
	e = calloc(1, sizeof(*e));
	if (!e)
		return -ENOMEM;
	e->cfg = *cfg;
	if (hooks)
		e->hooks = *hooks;
	e->lock_fd = -1;
	e->mon_fd = -1;
	if (cfg->pin_dir) {
		if (snprintf(e->pin_dir, sizeof(e->pin_dir), "%s", cfg->pin_dir) >=
		    (int)sizeof(e->pin_dir)) {
			err = -ENAMETOOLONG;
			goto fail;
		}
	} else {
		err = pw_default_pin_dir(e->pin_dir, sizeof(e->pin_dir));
		if (err) {
			pw_engine_log(e, "/proc/self/ns/net: %s", strerror(-err));
			goto fail;
		}
	}
	e->cfg.pin_dir = e->pin_dir;
	err = pw_rt_open(&e->rt);
	if (err) {
		pw_engine_log(e, "rtnetlink socket: %s", strerror(-err));
		goto fail;
	}
	e->net.rt = e->rt;
	/* without them every sync reads the maps back and every compile reads
	 * every pod: slower, not wrong */
	e->sync_cache = pw_sync_cache_new();
	e->compile_cache = pw_compile_cache_new();
	/* without the monitor every push dumps the network again: slower, not wrong */
	if (pw_rt_monitor_open(&e->mon_fd))
		e->mon_fd = -1;
	*out = e;
	return 0;
fail:
	free(e);
	return err;
}

void pw_engine_free(struct pw_engine *e)
{
	if (!e)
		return;
	if (e->obj)
		pw_bpf_close(e->obj);
	if (e->lock_fd >= 0)
		close(e->lock_fd);
	pw_resolver_release(&e->net);
	free(e->host_addrs);
	if (e->mon_fd >= 0)
		close(e->mon_fd);
	pw_rt_close(e->rt);
	pw_sync_cache_free(e->sync_cache);
	pw_compile_cache_free(e->compile_cache);
	pw_state_free(&e->last);
	pw_state_free(&e->failed);
	free(e->spots);
	free(e->memo_ifx);
	free(e->memo_up);
	free(e);
}

const char *pw_engine_pin_dir(const struct pw_engine *e)
{
	return e->pin_dir;
}

int pw_engine_bpf(struct pw_engine *e)
{
	struct pw_error why = { 0 };
	int err;

	if (e->obj)
		return 0;
	err = pw_bpf_open(e->cfg.private_maps ? NULL : e->pin_dir, &e->obj, &why);
	if (err) {
		if (why.msg[0]) /* it names the pin dir where it matters */
			pw_engine_log(e, "cannot load the BPF object: %s", why.msg);
		else
			pw_engine_log(e, "cannot load the BPF object with maps pinned in %s: %s",
				      e->pin_dir, strerror(-err));
		return err;
	}
	/* agent and apply on the same pins take turns (flock on the pin dir) */
	if (!e->cfg.private_maps)
		e->lock_fd = open(e->pin_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	return 0;
}

struct podwall_bpf *pw_engine_object(const struct pw_engine *e)
{
	return e->obj;
}

int pw_engine_monitor_fd(const struct pw_engine *e)
{
	return e->mon_fd;
}

void pw_engine_verify_next(struct pw_engine *e)
{
	e->verify_due = true;
}

void pw_engine_lock(struct pw_engine *e, bool on)
{
	if (e->lock_fd >= 0)
		while (flock(e->lock_fd, on ? LOCK_EX : LOCK_UN) && errno == EINTR)
			;
}

void pw_engine_health(const struct pw_engine *e, struct pw_engine_health *out)
{
	out->synced = __atomic_load_n(&e->h_synced, __ATOMIC_RELAXED);
	out->attached = __atomic_load_n(&e->h_attached, __ATOMIC_RELAXED);
	out->source_in_sync = __atomic_load_n(&e->h_source_ok, __ATOMIC_RELAXED);
	out->loop_ns = __atomic_load_n(&e->h_loop_ns, __ATOMIC_RELAXED);
}
