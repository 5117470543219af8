// SPDX-License-Identifier: MIT
/* The table of block sources the daemon can be started on (--source NAME[:ARG]). */
#include "source.h"

#include <string.h>

const struct source_ops *source_find(const char *spec)
{
	static const struct source_ops *const all[] = { &source_sim_ops, &source_kernel_ops,
							&source_readfd_ops, &source_dmabuf_ops };
	size_t len = strcspn(spec, ":");
	size_t i;

	for (i = 0; i < sizeof(all) / sizeof(all[0]); i++)
		if (strlen(all[i]->name) == len && strncmp(all[i]->name, spec, len) == 0)
			return all[i];
	return NULL;
}

