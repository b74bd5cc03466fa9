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
	 * watches; also where the ring is installed and the filter replaced.
	 * Taken with irqs off: posts come from any context.  Never held
	 * across anything that sleeps.  Raw: see wq_core.h.
	 */
	raw_spinlock_t		lock;
	bool			dead;		/* closing: posts and new watches refused */
	struct hlist_head	watches;
	u64			head;		/* kernel copy of the producer position */
	u64			pending_loss;	/* lost since the last loss record */
	/*
	 * Sized in notes (upstream's sizing): at most rec_max records in the
	 * ring, whatever their size, as upstream's queue of notes holds.
	 * rec_ends[] is a circle of the producer positions just after each
	 * of the rec_count records still unread, oldest at rec_first.
	 * rec_max is 0 for a ring sized in bytes.
	 */
	u64			*rec_ends;
	u32			rec_max;
	u32			rec_first;
	u32			rec_count;
	struct wq_ring		*ring;		/* set once, under lock */
	struct wq_filter __rcu	*filter;	/* replaced under lock */
	u64			loss_stamp;	/* wq_post_loss(): the last counted */

	/*
	 * read() consumers, one at a time.  Held across the copy to user
	 * space, which may sleep for as long as the reader's buffer wants
	 * (a mapping of a FUSE file whose server never answers): so it is the
	 * only sleeping lock of a queue, nothing else ever waits for it but
	 * other readers of this queue, and no lock is taken inside it but
	 * q->lock and the reader's own mm's.
	 */
	struct mutex		read_mutex;

	wait_queue_head_t	waitq;		/* readers and pollers */
	wait_queue_head_t	syncq;		/* WQ_IOC_SYNC waiters */
	struct irq_work		wake_work;	/* deferred reader wake-up */

	struct wq_user		*user;		/* opener: queue and ring limits */
	struct mem_cgroup	*memcg;		/* opener's: ring memory charged here */
	refcount_t		ref;		/* file + wq_queue_get() users */
	struct rcu_work		free_work;
};

/* wq_queue.c */
struct wq_queue *wq_queue_create(void);
void wq_queue_release(struct wq_queue *q);
/*
 * Size the ring (bytes, 0 = default); -EBUSY if already sized.  Takes no
 * sleeping lock of the queue (two racing sizers both allocate, one wins
 * under q->lock), so it may be called under a source's mutex.
 */
int wq_queue_size(struct wq_queue *q, u64 bytes);
/* Upstream's sizing: room for @notes (1..512) notes, as many records. */
int wq_queue_size_notes(struct wq_queue *q, unsigned long notes);
/* Size an unsized queue with the default size; 0 if it is sized. */
int wq_queue_size_default(struct wq_queue *q);

/* wq_watch.c */
void wq_queue_clear_watches(struct wq_queue *q);

#endif /* _WQ_QUEUE_H */
