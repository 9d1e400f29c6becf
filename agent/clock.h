/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * clock: the one monotonic clock every part of the agent times things with
 * (coalescing windows, ages, bench figures), in nanoseconds.
 */
#ifndef PODWALL_CLOCK_H
#define PODWALL_CLOCK_H

#include <stdint.h>
#include <time.h>

static inline uint64_t pw_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

#endif
