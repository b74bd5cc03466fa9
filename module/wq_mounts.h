/* SPDX-License-Identifier: GPL-2.0 */
/* Mount watches: mount topology and attribute changes below a directory. */
#ifndef _WQ_MOUNTS_H
#define _WQ_MOUNTS_H

#include "wq_core.h"

/* WQ_IOC_WATCH_MOUNT */
long wq_mounts_watch_ioctl(struct wq_queue *q, const void __user *arg);

#endif /* _WQ_MOUNTS_H */
