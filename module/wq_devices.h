/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Device watches: the global device watch list (every block error and USB
 * event) and per-disk watch lists (one disk's block errors).
 */
#ifndef _WQ_DEVICES_H
#define _WQ_DEVICES_H

#include "wq_core.h"

struct gendisk;

/*
 * Called by the sources; any context, never sleeps.  The record's length
 * is in n->info; wq_devices_post_block() finds the disk's watchers by
 * @disk_key, wq_disk_key() of the disk.
 */
void wq_devices_post_block(struct wq_block_notification *n, u64 disk_key);
void wq_devices_post_usb(struct wq_notification *n);
/* A hook saw @disk deleted, released or given a new medium; any context. */
void wq_devices_disk_gone(struct gendisk *disk);

#endif /* _WQ_DEVICES_H */
