/* SPDX-License-Identifier: GPL-2.0 */
/* Upstream's record filter, extended to every type and all 256 subtypes. */
#ifndef _WQ_FILTER_H
#define _WQ_FILTER_H

#include <linux/rcupdate.h>
#include "../uapi/linux/wq_dev.h"

struct wq_queue;

struct wq_filter {
	struct rcu_head				rcu;
	unsigned int				nr;
	struct wq_notification_type_filter	entries[];
};

/* 0 or -EINVAL: upstream's checks of one filter entry (info_filter/mask). */
int wq_filter_entry_check(const struct wq_notification_type_filter *e);

/* WQ_IOC_SET_FILTER: replace (or with NULL remove) the queue's filter. */
int wq_filter_set(struct wq_queue *q, const void __user *arg);
void wq_filter_free(struct wq_queue *q);

/* Does @n (with its watch id already in info) pass @f?  NULL passes all. */
bool wq_filter_match(const struct wq_filter *f, const struct wq_notification *n);

#endif /* _WQ_FILTER_H */
