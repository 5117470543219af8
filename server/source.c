// SPDX-License-Identifier: MIT
/* The table of block sources the daemon can be started on (--source NAME). */
#include "source.h"

#include <string.h>

const struct source_ops *source_find(const char *name)
{
	static const struct source_ops *const all[] = { &source_sim_ops };
	size_t i;

	for (i = 0; i < sizeof(all) / sizeof(all[0]); i++)
		if (strcmp(all[i]->name, name) == 0)
			return all[i];
	return NULL;
}
