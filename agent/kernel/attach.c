// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * attach: podwall's programs on tc hooks (attach.h): a clsact qdisc's cls_bpf
 * direct-action filter, or the kernel's tcx hook (tcx.c) when PODWALL_ATTACH
 * asks for it.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <linux/pkt_cls.h>
#include <linux/pkt_sched.h>
#include <linux/rtnetlink.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "kernel/attach.h"
#include "kernel/route.h"
#include "kernel/tcx.h"

/*
 * libbpf prints the kernel's extack for every tc call that fails, also for
 * the expected ones (clsact exists, no filter chain yet). Keep the last
 * message to add to our own errors instead.
 */
static char kmsg[200];

static int capture_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	char line[256];
	const char *p;
	size_t n;

	vsnprintf(line, sizeof(line), fmt, ap);
	p = strstr(line, "Kernel error message: ");
	if (p) {
		snprintf(kmsg, sizeof(kmsg), "%s", p + strlen("Kernel error message: "));
		n = strlen(kmsg);
		while (n && (kmsg[n - 1] == '\n' || kmsg[n - 1] == ' '))
			kmsg[--n] = 0;
	}
	return 0;
}

#define QUIET_BEGIN() libbpf_print_fn_t prev_print_ = libbpf_set_print(capture_print)
#define QUIET_END()   libbpf_set_print(prev_print_)

static const char *const our_names[] = { "from_pod", "to_pod", "to_remote" };

static bool is_our_name(const char *name)
{
	for (size_t i = 0; i < sizeof(our_names) / sizeof(our_names[0]); i++)
		if (!strcmp(name, our_names[i]))
			return true;
	return false;
}

/* ------------------------------------------------------------ which hook */

static int attach_kind = -1; /* enum pw_hook_kind, once decided */

int pw_attach_kind(void)
{
	const char *env = getenv("PODWALL_ATTACH");
	int have;

	if (attach_kind >= 0)
		return attach_kind;
	if (!env || !*env || !strcmp(env, "tc")) {
		attach_kind = PW_HOOK_TC;
	} else if (!strcmp(env, "tcx")) {
		attach_kind = PW_HOOK_TCX;
	} else if (!strcmp(env, "auto")) {
		have = pw_tcx_probe();
		if (have < 0)
			return have;
		attach_kind = have ? PW_HOOK_TCX : PW_HOOK_TC;
	} else {
		return -EINVAL;
	}
	return attach_kind;
}

const char *pw_hook_kind_name(int kind)
{
	return kind == PW_HOOK_TCX ? "tcx" : "tc";
}

/* ------------------------------------------------------------ prog identity */

#define PW_MAX_PROG_MAPS 64

struct prog_ident {
	uint32_t id;
	char     name[16];
	uint8_t  tag[BPF_TAG_SIZE];
	uint32_t n_maps;
	uint32_t maps[PW_MAX_PROG_MAPS]; /* ids of its named maps, sorted */
	bool     has_endpoints;          /* one of them is named "endpoints" */
};

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/*
 * Name, tag and the maps it uses. Internal maps (.rodata, .bss: a '.' in the
 * name) are left out: they are per load, and the same object gives the same
 * contents.
 */
static int prog_ident_fd(int fd, struct prog_ident *pi)
{
	uint32_t ids[PW_MAX_PROG_MAPS];
	struct bpf_prog_info info;
	uint32_t len = sizeof(info), n;
	int err;

	memset(pi, 0, sizeof(*pi));
	memset(&info, 0, sizeof(info));
	err = bpf_obj_get_info_by_fd(fd, &info, &len);
	if (err)
		return err;
	n = info.nr_map_ids < PW_MAX_PROG_MAPS ? info.nr_map_ids : PW_MAX_PROG_MAPS;
	pi->id = info.id;
	memcpy(pi->name, info.name, sizeof(pi->name) - 1);
	memcpy(pi->tag, info.tag, sizeof(pi->tag));
	/* Another tool's program: its maps never matter (same_prog compares names
	 * first; tcx_is_ours wants one of ours), and reading them costs two
	 * syscalls a map for each of its programs on every tcx listing. */
	if (!is_our_name(pi->name))
		return 0;
	if (n) {
		memset(&info, 0, sizeof(info));
		info.nr_map_ids = n;
		info.map_ids = (uint64_t)(uintptr_t)ids;
		len = sizeof(info);
		err = bpf_obj_get_info_by_fd(fd, &info, &len);
		if (err)
			return err;
		if (info.nr_map_ids < n)
			n = info.nr_map_ids;
	}
	for (uint32_t i = 0; i < n; i++) {
		struct bpf_map_info mi;
		uint32_t mlen = sizeof(mi);
		int mfd = bpf_map_get_fd_by_id(ids[i]);

		if (mfd < 0)
			continue;
		memset(&mi, 0, sizeof(mi));
		err = bpf_obj_get_info_by_fd(mfd, &mi, &mlen);
		close(mfd);
		if (err)
			continue;
		if (strchr(mi.name, '.'))
			continue;
		pi->has_endpoints |= !strcmp(mi.name, "endpoints");
		pi->maps[pi->n_maps++] = ids[i];
	}
	qsort(pi->maps, pi->n_maps, sizeof(pi->maps[0]), cmp_u32);
	return 0;
}

static int prog_ident_id(uint32_t id, struct prog_ident *pi)
{
	int fd = bpf_prog_get_fd_by_id(id), err;

	if (fd < 0)
		return fd;
	err = prog_ident_fd(fd, pi);
	close(fd);
	return err;
}

static int prog_name_by_id(uint32_t id, char name[16])
{
	struct bpf_prog_info info;
	uint32_t len = sizeof(info);
	int fd = bpf_prog_get_fd_by_id(id), err;

	name[0] = 0;
	if (fd < 0)
		return fd;
	memset(&info, 0, sizeof(info));
	err = bpf_obj_get_info_by_fd(fd, &info, &len);
	close(fd);
	if (err)
		return err;
	memcpy(name, info.name, 15);
	name[15] = 0;
	return 0;
}

static bool same_prog(const struct prog_ident *a, const struct prog_ident *b)
{
	return !strcmp(a->name, b->name) && !memcmp(a->tag, b->tag, sizeof(a->tag)) &&
	       a->n_maps == b->n_maps && !memcmp(a->maps, b->maps, a->n_maps * sizeof(a->maps[0]));
}

/* ------------------------------------------------------------ one spot */

static void hook_init(struct bpf_tc_hook *h, uint32_t ifindex, bool egress)
{
	memset(h, 0, sizeof(*h));
	h->sz = sizeof(*h);
	h->ifindex = (int)ifindex;
	h->attach_point = egress ? BPF_TC_EGRESS : BPF_TC_INGRESS;
}

static void opts_init(struct bpf_tc_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->sz = sizeof(*o);
	o->handle = PW_TC_HANDLE;
	o->priority = PW_TC_PRIO;
}

/*
 * A tcx program is podwall's if it has one of podwall's program names and
 * uses a map named "endpoints" (tcx has no handle or priority to mark it).
 * *pi: its identity, filled on the way (a program gone meanwhile is not ours).
 */
static bool tcx_is_ours(uint32_t id, struct prog_ident *pi)
{
	memset(pi, 0, sizeof(*pi));
	return !prog_ident_id(id, pi) && is_our_name(pi->name) && pi->has_endpoints;
}

/* The classic filter: clsact (made if missing), our handle and priority. */
static int attach_tc(int prog_fd, const struct prog_ident *ours, uint32_t ifindex, bool egress,
		     enum pw_attach_result *res)
{
	struct bpf_tc_hook hook;
	struct bpf_tc_opts opts;
	struct prog_ident cur;
	int err;

	hook_init(&hook, ifindex, egress);
	err = bpf_tc_hook_create(&hook);
	if (err && err != -EEXIST)
		return err;

	opts_init(&opts);
	err = bpf_tc_query(&hook, &opts);
	if (!err && opts.prog_id) {
		if (opts.prog_id == ours->id ||
		    (!prog_ident_id(opts.prog_id, &cur) && same_prog(&cur, ours))) {
			*res = PW_ATTACH_ADOPTED;
			return 0;
		}
		*res = PW_ATTACH_REPLACED;
	} else if (err && err != -ENOENT && err != -EINVAL) {
		/* -EINVAL: "Cannot find specified filter chain", a clsact with no filter */
		return err;
	} else {
		*res = PW_ATTACH_NEW;
	}

	opts_init(&opts);
	opts.prog_fd = prog_fd;
	opts.flags = BPF_TC_F_REPLACE;
	return bpf_tc_attach(&hook, &opts);
}

/*
 * tcx: ours already there is left alone if it is the same program, else
 * replaced in place (the kernel swaps it in one step); none, attached first.
 */
static int attach_tcx(int prog_fd, const struct prog_ident *ours, uint32_t ifindex, bool egress,
		      enum pw_attach_result *res)
{
	uint32_t ids[PW_TCX_MAX_PROGS], n = 0;
	struct prog_ident cur;
	int old_fd = -1, err;

	err = pw_tcx_list(ifindex, egress, ids, &n);
	if (err)
		return err;
	*res = PW_ATTACH_NEW;
	for (uint32_t i = 0; i < n; i++) {
		if (!tcx_is_ours(ids[i], &cur))
			continue;
		if (ids[i] == ours->id || same_prog(&cur, ours)) {
			*res = PW_ATTACH_ADOPTED;
			goto out;
		}
		if (old_fd < 0) {
			old_fd = bpf_prog_get_fd_by_id(ids[i]);
			if (old_fd >= 0)
				*res = PW_ATTACH_REPLACED;
		}
	}
	err = pw_tcx_attach(prog_fd, ifindex, egress, old_fd);
out:
	if (old_fd >= 0)
		close(old_fd);
	return err;
}

/* Remove our classic filter at ifindex/direction, if it is there. */
static int detach_tc(uint32_t ifindex, bool egress, bool *removed)
{
	struct bpf_tc_hook hook;
	struct bpf_tc_opts opts;
	char name[16];
	int err;

	hook_init(&hook, ifindex, egress);
	opts_init(&opts);
	err = bpf_tc_query(&hook, &opts);
	if (err == -ENOENT || err == -EINVAL || err == -ENODEV)
		return 0; /* no clsact, no filter of ours, or no device */
	if (err)
		return err;
	if (prog_name_by_id(opts.prog_id, name) || !is_our_name(name))
		return 0; /* our handle and priority, but not our program: not ours */
	opts_init(&opts);
	err = bpf_tc_detach(&hook, &opts);
	if (err == -ENOENT)
		return 0;
	if (!err && removed)
		*removed = true;
	return err;
}

/* Remove every program of ours from ifindex's tcx hook in that direction. */
static int detach_tcx(uint32_t ifindex, bool egress)
{
	uint32_t ids[PW_TCX_MAX_PROGS], n = 0;
	struct prog_ident pi;
	int err = pw_tcx_list(ifindex, egress, ids, &n);

	if (err == -EINVAL || err == -ENODEV)
		return 0; /* no tcx in this kernel, or no device */
	for (uint32_t i = 0; !err && i < n; i++)
		if (tcx_is_ours(ids[i], &pi)) {
			err = pw_tcx_detach(ids[i], ifindex, egress);
			if (err == -ENOENT || err == -ENODEV)
				err = 0;
		}
	return err;
}

/*
 * Attach at the hook of this kernel (pw_attach_kind), then take ours off the
 * other one (an agent that used the other before: an upgrade to a tcx
 * kernel, PODWALL_ATTACH changed): at no moment is the spot without podwall.
 */
static int attach_one_(int prog_fd, const struct prog_ident *ours, uint32_t ifindex, bool egress,
		       enum pw_attach_result *res)
{
	int kind = pw_attach_kind(), err;

	if (kind < 0)
		return kind;
	if (kind == PW_HOOK_TCX) {
		err = attach_tcx(prog_fd, ours, ifindex, egress, res);
		return err ? err : detach_tc(ifindex, egress, NULL);
	}
	err = attach_tc(prog_fd, ours, ifindex, egress, res);
	return err ? err : detach_tcx(ifindex, egress);
}

static int attach_one(int prog_fd, const struct prog_ident *ours, uint32_t ifindex, bool egress,
		      enum pw_attach_result *res)
{
	int err;

	kmsg[0] = 0;
	QUIET_BEGIN();
	err = attach_one_(prog_fd, ours, ifindex, egress, res);
	QUIET_END();
	return err;
}

int pw_attach_one(int prog_fd, uint32_t ifindex, bool egress, enum pw_attach_result *res)
{
	struct prog_ident ours;
	int err = prog_ident_fd(prog_fd, &ours);

	if (err)
		return err;
	return attach_one(prog_fd, &ours, ifindex, egress, res);
}

/* Both hooks: whichever this agent uses, an earlier one may have used the other. */
static int detach_one_(uint32_t ifindex, bool egress, bool *tc_removed)
{
	int err = detach_tcx(ifindex, egress);

	return err ? err : detach_tc(ifindex, egress, tc_removed);
}

static int detach_one(uint32_t ifindex, bool egress, bool *tc_removed)
{
	int err;

	kmsg[0] = 0;
	QUIET_BEGIN();
	err = detach_one_(ifindex, egress, tc_removed);
	QUIET_END();
	return err;
}

int pw_detach_one(uint32_t ifindex, bool egress)
{
	return detach_one(ifindex, egress, NULL);
}

/* ------------------------------------------------------------ listing */

struct filter_list {
	uint32_t             ifindex;
	bool                 egress;
	struct pw_tc_filter *v;
	size_t               n, cap;
};

static int filter_add(struct filter_list *fl, const struct pw_tc_filter *f)
{
	if (fl->n == fl->cap) {
		size_t cap = fl->cap ? fl->cap * 2 : 8;
		struct pw_tc_filter *v = realloc(fl->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		fl->v = v;
		fl->cap = cap;
	}
	fl->v[fl->n++] = *f;
	return 0;
}

static int filter_cb(const struct nlmsghdr *nh, void *ctx)
{
	const struct tcmsg *tcm = NLMSG_DATA(nh);
	struct rtattr *tb[TCA_MAX + 1], *ob[TCA_BPF_MAX + 1];
	struct filter_list *fl = ctx;
	struct pw_tc_filter f;

	if (nh->nlmsg_type != RTM_NEWTFILTER || nh->nlmsg_len < NLMSG_LENGTH(sizeof(*tcm)))
		return 0;
	if (!tcm->tcm_handle)
		return 0; /* the classifier instance itself, not a filter */
	memset(&f, 0, sizeof(f));
	pw_rt_parse(nh, sizeof(*tcm), tb, TCA_MAX);
	f.ifindex = fl->ifindex;
	f.egress = fl->egress;
	f.handle = tcm->tcm_handle;
	f.prio = (uint16_t)(TC_H_MAJ(tcm->tcm_info) >> 16);
	f.protocol = (uint16_t)TC_H_MIN(tcm->tcm_info);
	if (tb[TCA_KIND])
		snprintf(f.kind, sizeof(f.kind), "%.*s", (int)RTA_PAYLOAD(tb[TCA_KIND]),
			 (const char *)RTA_DATA(tb[TCA_KIND]));
	if (!strcmp(f.kind, "bpf") && tb[TCA_OPTIONS]) {
		pw_rt_parse_nested(tb[TCA_OPTIONS], ob, TCA_BPF_MAX);
		if (ob[TCA_BPF_ID] && RTA_PAYLOAD(ob[TCA_BPF_ID]) >= sizeof(uint32_t))
			memcpy(&f.prog_id, RTA_DATA(ob[TCA_BPF_ID]), sizeof(uint32_t));
		if (f.prog_id)
			prog_name_by_id(f.prog_id, f.prog_name);
	}
	f.podwall = f.handle == PW_TC_HANDLE && f.prio == PW_TC_PRIO && !strcmp(f.kind, "bpf") &&
		    is_our_name(f.prog_name);
	return filter_add(fl, &f);
}

/* The programs at the device's tcx hook, after its tc filters, in the order they run. */
static int list_tcx(struct filter_list *fl)
{
	uint32_t ids[PW_TCX_MAX_PROGS], n = 0;
	struct prog_ident pi;
	struct pw_tc_filter f;
	int err = pw_tcx_list(fl->ifindex, fl->egress, ids, &n);

	if (err == -EINVAL || err == -ENODEV)
		return 0; /* no tcx in this kernel, or no device */
	for (uint32_t i = 0; !err && i < n; i++) {
		memset(&f, 0, sizeof(f));
		f.ifindex = fl->ifindex;
		f.egress = fl->egress;
		f.prio = (uint16_t)(i + 1);
		snprintf(f.kind, sizeof(f.kind), "tcx");
		f.prog_id = ids[i];
		f.podwall = tcx_is_ours(f.prog_id, &pi);
		memcpy(f.prog_name, pi.name, sizeof(f.prog_name)); /* "" if it went meanwhile */
		err = filter_add(fl, &f);
	}
	return err;
}

int pw_tc_list(struct pw_rt *rt, uint32_t ifindex, bool egress, struct pw_tc_filter **out,
	       size_t *n)
{
	struct {
		struct nlmsghdr nh;
		struct tcmsg    tcm;
	} req;
	struct filter_list fl = { .ifindex = ifindex, .egress = egress };
	int err;

	memset(&req, 0, sizeof(req));
	req.nh.nlmsg_len = NLMSG_LENGTH(sizeof(req.tcm));
	req.nh.nlmsg_type = RTM_GETTFILTER;
	req.nh.nlmsg_flags = NLM_F_DUMP;
	req.tcm.tcm_family = AF_UNSPEC;
	req.tcm.tcm_ifindex = (int)ifindex;
	req.tcm.tcm_parent = TC_H_MAKE(TC_H_CLSACT, egress ? TC_H_MIN_EGRESS : TC_H_MIN_INGRESS);
	err = pw_rt_request(rt, &req.nh, filter_cb, &fl);
	if (err == -EINVAL || err == -ENOENT || err == -ENODEV)
		err = 0; /* no clsact here: no filters */
	if (!err)
		err = list_tcx(&fl);
	if (err) {
		free(fl.v);
		*out = NULL;
		*n = 0;
		return err;
	}
	*out = fl.v;
	*n = fl.n;
	return 0;
}

/* ------------------------------------------------------------ many spots */

static void set_err(struct pw_attach_stats *st, const char *what, uint32_t ifindex, bool egress,
		    int err)
{
	snprintf(st->error, sizeof(st->error), "%s on ifindex %u tc %s: %s%s%s%s", what, ifindex,
		 egress ? "egress" : "ingress", strerror(-err), kmsg[0] ? " (kernel: " : "", kmsg,
		 kmsg[0] ? ")" : "");
}

static bool spot_wanted(const struct pw_tc_spot *spots, size_t n, uint32_t ifindex, bool egress)
{
	for (size_t i = 0; i < n; i++)
		if (spots[i].ifindex == ifindex && spots[i].egress == egress)
			return true;
	return false;
}

int pw_attach_sync(struct podwall_bpf *obj, struct pw_rt *rt, const struct pw_tc_spot *spots,
		   size_t n, bool sweep, struct pw_attach_stats *st_out)
{
	struct prog_ident ours[PW_PROG_MAX];
	bool have[PW_PROG_MAX] = { 0 };
	struct pw_attach_stats st_local;
	struct pw_attach_stats *st = st_out ? st_out : &st_local;
	struct pw_link *links = NULL;
	size_t n_links = 0;
	int err = 0;

	memset(st, 0, sizeof(*st));
	for (size_t i = 0; i < n; i++) {
		const struct pw_tc_spot *sp = &spots[i];
		enum pw_attach_result res;
		int fd = pw_bpf_prog_fd(obj, sp->prog);

		if (fd < 0) {
			err = fd;
			snprintf(st->error, sizeof(st->error), "program %s: no file descriptor",
				 pw_prog_names[sp->prog]);
			goto out;
		}
		if (!have[sp->prog]) {
			err = prog_ident_fd(fd, &ours[sp->prog]);
			if (err) {
				snprintf(st->error, sizeof(st->error), "program %s: get info: %s",
					 pw_prog_names[sp->prog], strerror(-err));
				goto out;
			}
			have[sp->prog] = true;
		}
		err = attach_one(fd, &ours[sp->prog], sp->ifindex, sp->egress, &res);
		if (err == -ENODEV) {
			st->missing++;
			err = 0;
			continue;
		}
		if (err) {
			set_err(st, pw_prog_names[sp->prog], sp->ifindex, sp->egress, err);
			goto out;
		}
		if (res == PW_ATTACH_NEW)
			st->attached++;
		else if (res == PW_ATTACH_REPLACED)
			st->replaced++;
		else
			st->adopted++;
	}
	if (!sweep)
		goto out;

	err = pw_rt_links(rt, &links, &n_links);
	if (err) {
		snprintf(st->error, sizeof(st->error), "listing links: %s", strerror(-err));
		goto out;
	}
	for (size_t i = 0; i < n_links; i++) {
		for (int e = 0; e < 2; e++) {
			struct pw_tc_filter *fs;
			size_t nf;

			if (spot_wanted(spots, n, links[i].ifindex, e))
				continue;
			if (pw_tc_list(rt, links[i].ifindex, e, &fs, &nf))
				continue;
			for (size_t j = 0; j < nf; j++) {
				if (!fs[j].podwall)
					continue;
				err = pw_detach_one(links[i].ifindex, e);
				if (err && err != -ENODEV) {
					set_err(st, "detach", links[i].ifindex, e, err);
					free(fs);
					goto out;
				}
				err = 0;
				st->detached++;
			}
			free(fs);
		}
	}
	/* every podwall hook of this netns runs obj's programs now: an ABI
	 * switch is over (bpfobj.h) */
	err = pw_bpf_switch_done(obj);
	if (err)
		snprintf(st->error, sizeof(st->error), "finishing the ABI switch: %s",
			 strerror(-err));
out:
	free(links);
	return err;
}

int pw_detach_all(struct pw_rt *rt, struct pw_attach_stats *st_out)
{
	struct pw_attach_stats st_local;
	struct pw_attach_stats *st = st_out ? st_out : &st_local;
	struct pw_link *links = NULL;
	size_t n_links = 0;
	int err;

	memset(st, 0, sizeof(*st));
	err = pw_rt_links(rt, &links, &n_links);
	if (err) {
		snprintf(st->error, sizeof(st->error), "listing links: %s", strerror(-err));
		return err;
	}
	for (size_t i = 0; i < n_links; i++) {
		uint32_t ifindex = links[i].ifindex;
		bool tc_removed = false;
		size_t left = 0;

		for (int e = 0; e < 2; e++) {
			struct pw_tc_filter *fs;
			unsigned ours = 0;
			size_t nf;

			err = pw_tc_list(rt, ifindex, e, &fs, &nf);
			if (err) {
				set_err(st, "list filters", ifindex, e, err);
				goto out;
			}
			for (size_t j = 0; j < nf; j++)
				ours += fs[j].podwall;
			st->detached += ours;
			err = ours ? detach_one(ifindex, e, &tc_removed) : 0;
			free(fs);
			if (err && err != -ENODEV) {
				set_err(st, "detach", ifindex, e, err);
				goto out;
			}
		}
		/* the clsact qdisc goes with our last classic filter (tcx has none) */
		if (!tc_removed)
			continue;
		for (int e = 0; e < 2; e++) {
			struct pw_tc_filter *fs;
			size_t nf;

			err = pw_tc_list(rt, ifindex, e, &fs, &nf);
			if (err) {
				set_err(st, "list filters", ifindex, e, err);
				goto out;
			}
			for (size_t j = 0; j < nf; j++)
				left += strcmp(fs[j].kind, "tcx") != 0;
			free(fs);
		}
		if (!left) {
			struct bpf_tc_hook hook;

			hook_init(&hook, ifindex, false);
			hook.attach_point = BPF_TC_INGRESS | BPF_TC_EGRESS; /* the clsact qdisc */
			kmsg[0] = 0;
			{
				QUIET_BEGIN();
				err = bpf_tc_hook_destroy(&hook);
				QUIET_END();
			}
			if (err && err != -ENOENT && err != -EINVAL && err != -ENODEV) {
				set_err(st, "remove clsact", ifindex, false, err);
				goto out;
			}
			if (!err)
				st->qdiscs++;
		}
		err = 0;
	}
	err = 0;
out:
	free(links);
	return err;
}
