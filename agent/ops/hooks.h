/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * What agent.c calls into agent/ops: the loaded-state file after each
 * successful sync (statefile.h) and the metrics server (metrics.h).
 */
#ifndef PODWALL_OPS_HOOKS_H
#define PODWALL_OPS_HOOKS_H

#include "ops/metrics.h"
#include "ops/statefile.h"

#endif
