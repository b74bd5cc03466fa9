/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The watched objects of one source (keys, disks, superblocks): one object
 * per watched thing, holding its watch list, found by a u64 key.
 *
 * Posters look objects up under RCU, in any context.  Objects are added
 * under the source's mutex.  They go either when their thing is destroyed
 * (wq_objtab_destroy(), from a hook: the watchers get removal records) or,
 * once the table's last watch is gone, in the table's idle work, which then
 * lets the source disarm its hooks, under the same mutex.  Objects are
 * freed after an RCU grace period: posters and closing queues may still be
 * looking at their watch lists.
 *
 * Locks: the source's mutex, then tab->lock or an object's wlist->lock,
 * then a queue's q->lock (see wq_core.h).  The mutex is shared by every
 * user of the source, and the idle work needs it too: under it only
 * spinlocks of a queue are taken (wq_objtab_watch() sizes an unsized queue
 * without a sleeping lock), never q->read_mutex, which a reader holds
 * across its copy to user space.
 */
#ifndef _WQ_OBJTAB_H
#define _WQ_OBJTAB_H

#include <linux/atomic.h>
#include <linux/hashtable.h>
#include <linux/mutex.h>
#include <linux/spinlock.h>
#include <linux/workqueue.h>
#include "wq_core.h"

struct wq_objtab;

/* The first member of a source's object */
struct wq_obj {
	struct hlist_node	node;		/* tab->table, RCU */
	struct wq_objtab	*tab;
	u64			key;
	u64			id;		/* the records' object id */
	struct wq_watch_list	wlist;
	struct rcu_head		rcu;
};

struct wq_objtab {
	DECLARE_HASHTABLE(table, 8);
	/*
	 * Table changes; irq-safe and raw because destruction is seen from
	 * kprobe handlers (atomic, also on PREEMPT_RT).
	 */
	raw_spinlock_t		lock;
	struct mutex		*mutex;		/* the source's */
	/*
	 * Watches on all the objects: raised before a watch is added, dropped
	 * after it left its list, so 0 means every list is empty.
	 */
	atomic_t		watches;
	struct work_struct	idle_work;
	/* Run by the idle work, mutex held, after the emptied objects went. */
	void			(*idle)(struct wq_objtab *tab);
};

void wq_objtab_init(struct wq_objtab *tab, struct mutex *mutex,
		    void (*idle)(struct wq_objtab *tab));
/* Module exit (no queue is open): run the idle work a last time. */
void wq_objtab_exit(struct wq_objtab *tab);

/* Any context: false while no watch exists, the posters' fast path. */
static inline bool wq_objtab_watched(struct wq_objtab *tab)
{
	return atomic_read(&tab->watches) != 0;
}

/*
 * Any context, no lock: false if no object has @key (its bucket is
 * empty); true if one may have it (or another key of the bucket does).  A
 * first test for hooks on hot paths; wq_objtab_find() is the exact one.
 */
static inline bool wq_objtab_may_have(struct wq_objtab *tab, u64 key)
{
	return !hlist_empty(&tab->table[hash_min(key, HASH_BITS(tab->table))]);
}

/* Under rcu_read_lock() or the mutex. */
struct wq_obj *wq_objtab_find(struct wq_objtab *tab, u64 key);

/*
 * Add a watch by @q tagged @watch_id on the object for @key, created if
 * need be (@size bytes, struct wq_obj first, the rest zeroed, then @init
 * if not NULL) with @id as its records' object id.  Mutex held, the
 * source's hooks armed; on failure the idle work runs, so nothing stays
 * armed for no watch.  EBUSY: @q watches that object already.
 */
int wq_objtab_watch(struct wq_objtab *tab, struct wq_queue *q, u64 key,
		    u64 id, size_t size, void (*init)(struct wq_obj *obj),
		    u8 watch_id);
/* The same, the new watch's private set to @private before it is added. */
int wq_objtab_watch_private(struct wq_objtab *tab, struct wq_queue *q,
			    u64 key, u64 id, size_t size,
			    void (*init)(struct wq_obj *obj), u8 watch_id,
			    void *private);
/* Remove @q's watch on the object @key whose id is @id; EBADSLT if none. */
int wq_objtab_remove_watch(struct wq_objtab *tab, u64 key, u64 id,
			   struct wq_queue *q);
/* The thing behind @key is being destroyed; any context. */
void wq_objtab_destroy(struct wq_objtab *tab, u64 key);
/*
 * The source missed @lost records and cannot tell about which object: every
 * queue watching any object counts them lost, once.  Process context.
 */
void wq_objtab_lose(struct wq_objtab *tab, u64 lost);
/* Have the idle work run (a source's other watch list went idle too). */
void wq_objtab_kick_idle(struct wq_objtab *tab);

#endif /* _WQ_OBJTAB_H */
