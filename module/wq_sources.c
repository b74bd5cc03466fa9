// SPDX-License-Identifier: GPL-2.0
/*
 * The table of event sources (wq_source.h): the only place that names
 * them.  Order matters: init runs top to bottom, exit bottom to top.
 */
#include <linux/kernel.h>
#include "wq_source.h"

static const struct wq_source *const wq_sources[] = {
	&wq_keys_source,
	&wq_devices_source,
	&wq_sb_source,
	&wq_mounts_source,
};

static void wq_sources_exit_from(unsigned int n)
{
	while (n--)
		if (wq_sources[n]->exit)
			wq_sources[n]->exit();
}

int wq_sources_init(void)
{
	unsigned int i;
	int ret;

	for (i = 0; i < ARRAY_SIZE(wq_sources); i++) {
		if (!wq_sources[i]->init)
			continue;
		ret = wq_sources[i]->init();
		if (ret) {
			pr_err("source %s: init failed (%d)\n",
			       wq_sources[i]->name, ret);
			wq_sources_exit_from(i);
			return ret;
		}
	}
	return 0;
}

void wq_sources_exit(void)
{
	wq_sources_exit_from(ARRAY_SIZE(wq_sources));
}

const struct wq_source *wq_source_for_cmd(unsigned int cmd)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(wq_sources); i++)
		if (wq_sources[i]->watch_cmd == cmd)
			return wq_sources[i];
	return NULL;
}

u64 wq_sources_features(void)
{
	u64 features = 0;
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(wq_sources); i++)
		if (wq_sources[i]->features)
			features |= wq_sources[i]->features();
	return features;
}
