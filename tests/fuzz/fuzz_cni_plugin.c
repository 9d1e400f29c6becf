/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * libFuzzer entry point: podwall-cni itself, i.e. the network configuration
 * and prevResult a container runtime hands it on stdin, and the agent's
 * answer it reads back from the socket.
 *
 * The plugin's parsing lives in main() and static helpers of cni/main.c, not
 * in functions of their own, so this file includes cni/main.c with main
 * renamed and exit() turned into a longjmp back here, and replaces what
 * touches the system: rtnetlink (cni/nl.c is not linked; the fakes below
 * know a pod netns "/fake/netns" whose eth0 is the peer of host veth
 * "veth7", and devices named veth<digit>), and connect() (the "agent" is the
 * other end of a socketpair that already holds the answer).
 *
 * Input: byte 0 picks CNI_COMMAND, CNI_NETNS and CNI_ARGS; byte 1 picks the
 * agent's answer (a few canned ones, or everything after the first NUL of
 * the rest); the rest up to that NUL is stdin.
 *
 * Error paths end the plugin with exit() in real life; here they longjmp, so
 * what they had not freed yet would pile up run after run. Every allocation
 * of cni/main.c and of jansson therefore goes through a tracking allocator
 * (fz_malloc...) and what is left after a run is freed: no leak report for
 * the exit paths, and no memory growth.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <jansson.h>
#include "../../cni/nl.h"

static jmp_buf fz_jmp;
static int fz_status;
static const char *fz_answer;
static size_t fz_answer_len;
static int fz_peer = -1;

static void fz_exit(int status) __attribute__((noreturn));
static void fz_exit(int status)
{
	fz_status = status;
	longjmp(fz_jmp, 1);
}

/* The agent: a socketpair whose other end holds the answer, then EOF. */
static int fz_connect(int fd, const struct sockaddr *sa, socklen_t len)
{
	int sv[2], big = 4 << 20;
	size_t off = 0;

	(void)sa;
	(void)len;
	if (!fz_answer) {
		errno = ECONNREFUSED;
		return -1;
	}
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv))
		abort();
	setsockopt(sv[0], SOL_SOCKET, SO_SNDBUFFORCE, &big, sizeof(big));
	setsockopt(sv[1], SOL_SOCKET, SO_SNDBUFFORCE, &big, sizeof(big));
	if (dup2(sv[0], fd) < 0)
		abort();
	close(sv[0]);
	while (off < fz_answer_len) {
		ssize_t w = write(sv[1], fz_answer + off, fz_answer_len - off);

		if (w <= 0)
			abort();
		off += (size_t)w;
	}
	shutdown(sv[1], SHUT_WR);
	fz_peer = sv[1];   /* kept open: the plugin writes its request into it */
	return 0;
}

/* ------------------------------------------------ tracking allocator */

struct fz_blk {
	struct fz_blk *prev, *next;
	size_t         size;
	size_t         pad;
};
static struct fz_blk fz_live = { &fz_live, &fz_live, 0, 0 };

static void *fz_malloc(size_t n)
{
	struct fz_blk *b = malloc(sizeof(*b) + (n ? n : 1));

	if (!b)
		return NULL;
	b->size = n;
	b->next = fz_live.next;
	b->prev = &fz_live;
	fz_live.next->prev = b;
	fz_live.next = b;
	return b + 1;
}

static void fz_free(void *p)
{
	struct fz_blk *b;

	if (!p)
		return;
	b = (struct fz_blk *)p - 1;
	b->prev->next = b->next;
	b->next->prev = b->prev;
	free(b);
}

static void *fz_realloc(void *p, size_t n)
{
	size_t old;
	void *q;

	if (!p)
		return fz_malloc(n);
	old = ((struct fz_blk *)p - 1)->size;
	q = fz_malloc(n);
	if (!q)
		return NULL;
	memcpy(q, p, old < n ? old : n);
	fz_free(p);
	return q;
}

static char *fz_strndup(const char *s, size_t n)
{
	size_t l = strnlen(s, n);
	char *d = fz_malloc(l + 1);

	if (d) {
		memcpy(d, s, l);
		d[l] = 0;
	}
	return d;
}

static void fz_free_all(void)
{
	while (fz_live.next != &fz_live)
		fz_free(fz_live.next + 1);
}

#define malloc(n) fz_malloc(n)
#define realloc(p, n) fz_realloc(p, n)
#define free(p) fz_free(p)
#define strndup(s, n) fz_strndup(s, n)
#define exit(s) fz_exit(s)
#define connect(fd, sa, len) fz_connect(fd, sa, len)
#define main podwall_cni_main
#include "../../cni/main.c"
#undef main
#undef connect
#undef exit
#undef malloc
#undef realloc
#undef free
#undef strndup

/* ------------------------------------------------------ rtnetlink fakes */

static int fake_by_name(const char *name, struct cni_link *out)
{
	if (strlen(name) == 5 && !strncmp(name, "veth", 4) && name[4] >= '0' && name[4] <= '9') {
		out->ifindex = 20u + (uint32_t)(name[4] - '0');
		snprintf(out->name, sizeof(out->name), "%s", name);
		snprintf(out->kind, sizeof(out->kind), "veth");
		out->peer_ifindex = 2;
		return 0;
	}
	if (!strcmp(name, "cni0")) {
		out->ifindex = 5;
		snprintf(out->name, sizeof(out->name), "cni0");
		snprintf(out->kind, sizeof(out->kind), "bridge");
		return 0;
	}
	return -ENODEV;
}

int cni_link_get(const char *name, uint32_t ifindex, struct cni_link *out)
{
	char n[IF_NAMESIZE];

	memset(out, 0, sizeof(*out));
	out->peer_netnsid = -1;
	if (name)
		return fake_by_name(name, out);
	if (ifindex >= 20 && ifindex <= 29) {
		snprintf(n, sizeof(n), "veth%u", ifindex - 20);
		return fake_by_name(n, out);
	}
	if (ifindex == 5)
		return fake_by_name("cni0", out);
	return -ENODEV;
}

int cni_link_get_in(const char *netns_path, const char *name, struct cni_link *out)
{
	memset(out, 0, sizeof(*out));
	out->peer_netnsid = -1;
	if (strcmp(netns_path, "/fake/netns"))
		return -ENOENT;
	if (strcmp(name, "eth0"))
		return -ENODEV;
	out->ifindex = 2;
	out->peer_ifindex = 27;   /* veth7 */
	out->peer_netnsid = 0;
	snprintf(out->name, sizeof(out->name), "eth0");
	snprintf(out->kind, sizeof(out->kind), "veth");
	return 0;
}

uint64_t cni_netns_cookie(void)
{
	return 4096;
}

/* ------------------------------------------------------------ the run */

static const char *const answers[] = {
	"{\"ok\": true, \"msg\": \"enforced\", \"pending\": false}\n",
	"{\"ok\": false, \"code\": 100, \"msg\": \"refused\", \"details\": \"why\"}\n",
	"",
	"{\"ok\": false, \"code\": -5}\n",
	"[1, 2\n",
	"{\"ok\": true} trailing junk\n",
	"{\"ok\": false, \"code\": 100000000000000000000, \"msg\": 7}\n",
};
#define N_ANSWERS (sizeof(answers) / sizeof(answers[0]))

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	signal(SIGPIPE, SIG_IGN);
	json_set_alloc_funcs(fz_malloc, fz_free);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const cmds[] = { "ADD", "DEL", "CHECK", "VERSION" };
	static const char *const netnses[] = { "/fake/netns", "/fake/gone", "" };
	char *argv[] = { (char *)"podwall-cni", NULL };
	const uint8_t *nul;
	size_t in_len;
	int mfd, saved_stdin;
	uint8_t b0, b1;

	if (size < 2)
		return 0;
	b0 = data[0];
	b1 = data[1];
	data += 2;
	size -= 2;
	nul = memchr(data, 0, size);
	in_len = nul ? (size_t)(nul - data) : size;

	setenv("CNI_COMMAND", cmds[b0 & 3], 1);
	setenv("CNI_CONTAINERID", (b0 & 4) ? "" : "c0ffee", 1);
	setenv("CNI_IFNAME", "eth0", 1);
	if (netnses[(b0 >> 3) % 3][0])
		setenv("CNI_NETNS", netnses[(b0 >> 3) % 3], 1);
	else
		unsetenv("CNI_NETNS");
	if (b0 & 0x20)
		unsetenv("CNI_ARGS");
	else
		setenv("CNI_ARGS", (b0 & 0x40) ? "IgnoreUnknown=1;K8S_POD_NAMESPACE=prod"
						: "K8S_POD_NAMESPACE=prod;K8S_POD_NAME=web-0", 1);

	if ((b1 & 7) < N_ANSWERS) {
		fz_answer = answers[b1 & 7];
		fz_answer_len = strlen(fz_answer);
	} else if (nul) {
		fz_answer = (const char *)nul + 1;
		fz_answer_len = size - in_len - 1;
	} else {
		fz_answer = NULL;   /* the agent is not there */
	}

	mfd = memfd_create("stdin", MFD_CLOEXEC);
	if (mfd < 0 || write(mfd, data, in_len) != (ssize_t)in_len || lseek(mfd, 0, SEEK_SET))
		abort();
	saved_stdin = dup(STDIN_FILENO);
	dup2(mfd, STDIN_FILENO);
	close(mfd);

	g_version = "1.0.0";
	fz_peer = -1;
	fz_status = 0;
	if (!setjmp(fz_jmp))
		fz_status = podwall_cni_main(1, argv);
	if (fz_status != 0 && fz_status != 1)
		abort();   /* the plugin exits 0 or 1 (a CNI error object), nothing else */

	fflush(stdout);
	fz_free_all();
	if (fz_peer >= 0)
		close(fz_peer);
	if (saved_stdin >= 0) {
		dup2(saved_stdin, STDIN_FILENO);
		close(saved_stdin);
	}
	return 0;
}
