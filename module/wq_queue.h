/* SPDX-License-Identifier: GPL-2.0 */
/* One open of /dev/watch_queue: a queue, its ring, filter and watches. */
#ifndef _WQ_QUEUE_H
#define _WQ_QUEUE_H

#include <linux/irq_work.h>
#include <linux/mutex.h>
#include <linux/refcount.h>
#include <linux/wait.h>
#include <linux/workqueue.h>
#include "wq_core.h"

struct wq_ring;
struct wq_filter;
struct wq_user;
struct mem_cgroup;

struct wq_queue {
	/*
	 * Producer side: ring head, pending loss, dead flag and the list of
	 * watches.  Taken with irqs off: posts come from any context.
	 */
	spinlock_t		lock;
	bool			dead;		/* closing: posts and new watches refused */
	struct hlist_head	watches;
	u64			head;		/* kernel copy of the producer position */
	u64			pending_loss;	/* lost since the last loss record */
	u64			loss_stamp;	/* wq_post_loss(): the last counted */

	/* Sizing, filter replacement and read() consumers */
	struct mutex		mutex;
	struct wq_ring		*ring;		/* set once, under mutex and lock */
	struct wq_filter __rcu	*filter;

	wait_queue_head_t	waitq;		/* readers and pollers */
	wait_queue_head_t	syncq;		/* WQ_IOC_SYNC waiters */
	struct irq_work		wake_work;	/* deferred reader wake-up */

	struct wq_user		*user;		/* opener: queue and ring limits */
	struct mem_cgroup	*memcg;		/* opener's: ring memory charged here */
	refcount_t		ref;		/* file + wq_queue_get() users */
	struct rcu_work		free_work;
};

/* wq_dev.c */
extern const struct file_operations wq_fops;
int wq_dev_init(void);
void wq_dev_exit(void);

/* wq_queue.c */
struct wq_queue *wq_queue_create(void);
void wq_queue_release(struct wq_queue *q);
/* Size the ring (bytes, 0 = default); -EBUSY if already sized. */
int wq_queue_size(struct wq_queue *q, u64 bytes);

/* wq_watch.c */
void wq_queue_clear_watches(struct wq_queue *q);

/* wq_main.c: module parameters, read with READ_ONCE */
extern unsigned long wq_max_ring_bytes;
extern unsigned long wq_default_ring_bytes;
extern unsigned long wq_max_user_ring_bytes;
extern unsigned int wq_max_user_queues;
extern unsigned int wq_max_user_watches;
extern struct workqueue_struct *wq_workqueue;

#endif /* _WQ_QUEUE_H */
