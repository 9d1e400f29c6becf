/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Freeing a compiled state (state.h). */
#include <stdlib.h>
#include <string.h>
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
	memset(s, 0, sizeof(*s));
}
