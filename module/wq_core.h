/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Core posting API and watch-list machinery shared by every event source.
 *
 * An object that can be watched (a key, the global device list, ...) owns a
 * struct wq_watch_list.  A watch ties one queue to one list for one object id
 * and carries the user's watch id (0..255) that tags the records.
 *
 * Lifetimes: the watch list is walked under RCU by posters; watches are
 * freed after an RCU grace period; a queue is freed after a grace period
 * following the removal of its last watch, so a poster that found a watch
 * under rcu_read_lock() may always lock that watch's queue.
 *
 * Lock order, outermost first:
 *
 *   a source's mutex (wq_keys_mutex, wq_devices_mutex, wq_sb_mutex,
 *   wq_mounts_mutex), taken by the watch ioctls (killable) and by the
 *   source's idle work; under it the source's hook locks (wq_usb_lock,
 *   wq_sb_probe_mutex)
 *     -> the object table's lock, wlist->lock
 *       -> the queue's lock (q->lock)
 *
 * Every user's watches of a source need its mutex, so nothing that another
 * user can make wait is done under it: no user copy, and no sleeping lock
 * of a queue.  A queue has one sleeping lock, q->read_mutex, held by read()
 * across its copy to user space (which may wait for good on a FUSE mapping)
 * and taken by nothing else; sizing and filter replacement need only
 * q->lock, a spinlock never held across anything that sleeps.  Posting
 * takes only q->lock (irq-safe), so it may happen in any context.
 *
 * q->lock, wlist->lock and the object tables' locks are raw spinlocks:
 * posts and destructions come from kprobe handlers and hard interrupts,
 * where PREEMPT_RT's sleeping spinlock_t must not be taken.  Their
 * critical sections are short and bounded (list links, one record copy),
 * as raw spinlocks require.
 */
#ifndef _WQ_CORE_H
#define _WQ_CORE_H

#include <linux/types.h>
#include <linux/list.h>
#include <linux/rculist.h>
#include <linux/spinlock.h>
#include <linux/cred.h>
#include "../uapi/linux/wq_dev.h"

struct wq_queue;
struct wq_watch;
struct wq_user;

struct wq_watch_list {
	struct hlist_head	watchers;	/* RCU; changes under lock */
	raw_spinlock_t		lock;
	/*
	 * Called when a watch has left the list, in the context of whoever
	 * removed it, with no locks held: process context for an unwatch or
	 * a closing queue, but a probe handler (atomic, also on PREEMPT_RT)
	 * when a source destroys a watched object from a hook with
	 * wq_remove_watch_list().  Such a source's release must not sleep
	 * and may take only raw spinlocks.  The watch itself is freed after
	 * a grace period.
	 */
	void (*release_watch)(struct wq_watch *watch);
};

struct wq_watch {
	struct hlist_node	list_node;	/* on wlist->watchers, RCU */
	struct hlist_node	queue_node;	/* on queue->watches */
	struct wq_watch_list	*wlist;		/* NULL until added */
	struct wq_queue		*queue;
	const struct cred	*cred;		/* the watch setter's */
	struct wq_user		*user;		/* charged for this watch */
	void			*private;	/* the source's */
	u64			id;		/* object id posts must match */
	u32			info_id;	/* watch id << WQ_INFO_ID__SHIFT */
	struct rcu_head		rcu;
};

void wq_init_watch_list(struct wq_watch_list *wlist,
			void (*release_watch)(struct wq_watch *));

/* Queue from a /dev/watch_queue file descriptor; ERR_PTR(-EBADF/-EINVAL). */
struct wq_queue *wq_queue_get(int fd);
void wq_queue_put(struct wq_queue *q);

/* A watch request's common fields: watch id 0..255 adds, -1 removes. */
static inline bool wq_watch_req_valid(s32 watch_id, u32 flags, u32 reserved)
{
	return !flags && !reserved && watch_id >= -1 && watch_id <= 0xff;
}

/*
 * Allocate a watch on @q for object @id tagged @watch_id (0..255), charged
 * to the current user's watch limit.  Free with wq_watch_free() if it is not
 * added.  Sizes an unsized queue with the default size, taking no sleeping
 * lock of the queue, so a source may call it under its mutex.
 */
struct wq_watch *wq_watch_alloc(struct wq_queue *q, u64 id, u8 watch_id);
void wq_watch_free(struct wq_watch *watch);

/* -EBUSY if @q already watches this id on @wlist, -ENOENT if q is closing. */
int wq_add_watch(struct wq_watch_list *wlist, struct wq_watch *watch);

/* Remove @q's watch of @id, posting a removal record; -EBADSLT if none. */
int wq_remove_watch(struct wq_watch_list *wlist, struct wq_queue *q, u64 id);

/* The object @id dies: every watcher gets a removal record, list empties. */
void wq_remove_watch_list(struct wq_watch_list *wlist, u64 id);

/*
 * Post @n to every queue watching @id on @wlist.  Any context; never sleeps
 * or allocates.  The length in n->info must be a multiple of 8 in 8..120;
 * the watch id bits of n->info are set per watch.
 */
void wq_post(struct wq_watch_list *wlist, struct wq_notification *n, u64 id);

/*
 * A source's per-watch policy: may @w get @n?  It may also rewrite the
 * record's payload for this watch (e.g. ids translated into the watcher's
 * user namespace); every watch gets the same @n, so it must set each field
 * it varies every time.  Called as wq_post() posts: any context, under
 * rcu_read_lock(), after the queue's filter matched; it must not sleep,
 * allocate or take locks.  w->cred may be read (creds are freed after an
 * RCU grace period, their user namespace and groups with them).
 */
typedef bool (*wq_watch_allow_t)(const struct wq_watch *w,
				 struct wq_notification *n, void *data);

/* wq_post(), delivering only to the watches @allow(w, n, @data) accepts. */
void wq_post_allowed(struct wq_watch_list *wlist, struct wq_notification *n,
		     u64 id, wq_watch_allow_t allow, void *data);

/*
 * A source missed @lost records and cannot tell about which object: every
 * queue watching on @wlist counts them lost (a loss record follows), each
 * queue once per @stamp (from wq_loss_stamp()) however many of its watches
 * are on the lists passed with it.  Any context; never sleeps or allocates.
 */
u64 wq_loss_stamp(void);
void wq_post_loss(struct wq_watch_list *wlist, u64 lost, u64 stamp);

#endif /* _WQ_CORE_H */
