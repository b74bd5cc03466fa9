/* SPDX-License-Identifier: GPL-2.0 */
/*
 * An event source (keys, devices, filesystems, mounts): the watch ioctl it
 * owns, what it offers and its life cycle.  Each source file defines
 * exactly one struct wq_source; wq_sources.c lists them.  The core knows
 * sources only through that table: wq_main.c brings them up in table order
 * and down in reverse, wq_dev.c dispatches their watch ioctls and ORs their
 * feature bits.  Adding a source is one file, one line of the table and
 * its uapi.
 */
#ifndef _WQ_SOURCE_H
#define _WQ_SOURCE_H

#include <linux/compiler.h>
#include <linux/types.h>

struct wq_queue;

struct wq_source {
	const char *name;
	/* Its WQ_IOC_WATCH_* and where that argument keeps its watch_id. */
	unsigned int watch_cmd;
	size_t watch_id_off;
	/* Adds (watch_id >= 0) or removes (-1) a watch; the ioctl's result. */
	long (*watch)(struct wq_queue *q, const void __user *arg);
	/* Optional: set up at load, torn down at unload (exit undoes init). */
	int (*init)(void);
	void (*exit)(void);
	/* The WQ_FEATURE_* bits it offers on this kernel, now. */
	u64 (*features)(void);
};

/* One per source file; the table (wq_sources.c) lists them. */
extern const struct wq_source wq_keys_source;
extern const struct wq_source wq_devices_source;
extern const struct wq_source wq_sb_source;
extern const struct wq_source wq_mounts_source;

/* Brings every source up in table order; on failure, the started ones down. */
int wq_sources_init(void);
/* Every source down, in reverse table order. */
void wq_sources_exit(void);
/* The source owning watch ioctl @cmd, or NULL. */
const struct wq_source *wq_source_for_cmd(unsigned int cmd);
/* The feature bits of all sources. */
u64 wq_sources_features(void);

#endif /* _WQ_SOURCE_H */
