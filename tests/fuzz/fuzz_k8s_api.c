/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * libFuzzer entry point: what the Kubernetes API server sends the agent
 * (agent/source/k8s_api.c): a list answer ({"items": [...], "metadata":
 * {"continue": ...}}) or a watch stream (one JSON event per line, cut into
 * arbitrary chunks as the network delivers it), then the objects kept from
 * it loaded, finished and compiled as the agent does (pw_k8s_build).
 *
 * Its parsing is in static functions (do_list, do_watch, on_data,
 * handle_event, trim, admit), so this file includes k8s_api.c and replaces
 * libcurl's transfer calls with fakes that hand the fuzzer's bytes to the
 * write callback the code installed.
 *
 * Input: byte 0 picks the resource (bits 0-1) and list or watch (bit 2);
 * byte 1 the chunk size; byte 2 the HTTP status (200 mostly; 410, 401, 500)
 * and whether the transfer "fails" after the data; the rest is the body.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <curl/curl.h>

static const uint8_t *fz_body;
static size_t fz_len, fz_chunk, fz_calls;
static long fz_code;
static CURLcode fz_rc;
static curl_write_callback fz_write;
static void *fz_write_arg;
static int fz_handle;

static CURL *fz_init(void)
{
	return (CURL *)&fz_handle;
}

static void fz_cleanup(CURL *h)
{
	(void)h;
}

static CURLcode fz_setopt(CURL *h, CURLoption opt, ...)
{
	va_list ap;

	(void)h;
	va_start(ap, opt);
	if (opt == CURLOPT_WRITEFUNCTION)
		fz_write = va_arg(ap, curl_write_callback);
	else if (opt == CURLOPT_WRITEDATA)
		fz_write_arg = va_arg(ap, void *);
	va_end(ap);
	return CURLE_OK;
}

static CURLcode fz_getinfo(CURL *h, CURLINFO info, ...)
{
	va_list ap;

	(void)h;
	va_start(ap, info);
	if (info == CURLINFO_RESPONSE_CODE)
		*va_arg(ap, long *) = fz_calls <= 1 ? fz_code : 200;
	va_end(ap);
	return CURLE_OK;
}

/* The first transfer gets the fuzzer's body; later ones (the next page of a
 * list) an empty last page, so that every list ends. */
static CURLcode fz_perform(CURL *h)
{
	static char empty[] = "{\"items\": []}";
	const char *p = fz_calls ? empty : (const char *)fz_body;
	size_t len = fz_calls ? strlen(empty) : fz_len, off = 0;
	char *copy;

	(void)h;
	fz_calls++;
	if (fz_calls > 8)
		return CURLE_COULDNT_CONNECT;
	/* libcurl's buffers are not NUL-terminated: give the callback exact copies */
	while (off < len) {
		size_t n = len - off < fz_chunk ? len - off : fz_chunk;

		copy = malloc(n);
		if (!copy)
			return CURLE_OUT_OF_MEMORY;
		memcpy(copy, p + off, n);
		if (fz_write(copy, 1, n, fz_write_arg) != n) {
			free(copy);
			return CURLE_WRITE_ERROR;
		}
		free(copy);
		off += n;
	}
	return fz_calls == 1 ? fz_rc : CURLE_OK;
}

/* curl.h defines these two as macros of themselves */
#undef curl_easy_setopt
#undef curl_easy_getinfo
#define curl_easy_init fz_init
#define curl_easy_cleanup fz_cleanup
#define curl_easy_setopt fz_setopt
#define curl_easy_getinfo fz_getinfo
#define curl_easy_perform fz_perform
#include "../../agent/source/k8s_api.c"
#undef curl_easy_init
#undef curl_easy_cleanup
#undef curl_easy_setopt
#undef curl_easy_getinfo
#undef curl_easy_perform

#include "compiler.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const long codes[] = { 200, 200, 200, 200, 200, 410, 401, 500 };
	struct pw_k8s *k;
	struct pw_cluster *c;
	struct pw_error err;
	bool watch;
	int which;

	if (size < 3)
		return 0;
	which = data[0] & 3;
	watch = data[0] & 4;
	fz_chunk = (size_t)data[1] * 7 + 1;
	fz_code = codes[data[2] & 7];
	fz_rc = (data[2] & 8) ? CURLE_RECV_ERROR : CURLE_OK;
	fz_body = data + 3;
	fz_len = size - 3;
	fz_calls = 0;

	k = calloc(1, sizeof(*k));
	if (!k)
		return 0;
	k->notify_fd = -1;
	pthread_mutex_init(&k->mu, NULL);
	pthread_cond_init(&k->cv, NULL);
	for (size_t i = 0; i < N_RES; i++) {
		k->res[i].r = &pw_k8s_resources[i];
		k->res[i].k = k;
		k->res[i].synced = (int)i != which;   /* the others: listed, empty */
	}
	if (watch) {
		/* a watch after a list that found nothing */
		k->res[which].objs = json_object();
		k->res[which].synced = true;
		do_watch(&k->res[which]);
	} else {
		do_list(&k->res[which]);
	}

	/* whatever was kept must load and compile as the agent would */
	c = pw_cluster_new();
	memset(&err, 0, sizeof(err));
	if (c && k->res[which].synced) {
		int r = pw_k8s_build(k, c, &err);

		if (r && !err.msg[0])
			abort();
		if (!r) {
			struct pw_state s;

			memset(&s, 0, sizeof(s));
			pw_compile(c, NULL, &s, &err);
			pw_state_free(&s);
		}
	}
	pw_cluster_free(c);

	for (size_t i = 0; i < N_RES; i++)
		json_decref(k->res[i].objs);
	pthread_mutex_destroy(&k->mu);
	pthread_cond_destroy(&k->cv);
	free(k);
	return 0;
}
