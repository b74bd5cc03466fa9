// SPDX-License-Identifier: GPL-2.0
/*
 * Watch lists: which queues watch which object.
 *
 * A watch is on two lists: its object's wlist (walked by posters under
 * RCU) and its queue's watches.  Whoever unlinks a watch from its wlist,
 * under wlist->lock, owns its teardown: it then unlinks it from the queue
 * under the queue's lock, calls release_watch and frees it after a grace
 * period.  Lock order is wlist->lock, then q->lock; both are spinlocks,
 * and a source's mutex may be held around them (see wq_core.h).
 */
#include <linux/export.h>
#include <linux/rcupdate.h>
#include <linux/slab.h>
#include "wq_post.h"
#include "wq_queue.h"
#include "wq_user.h"

void wq_init_watch_list(struct wq_watch_list *wlist,
			void (*release_watch)(struct wq_watch *))
{
	INIT_HLIST_HEAD(&wlist->watchers);
	raw_spin_lock_init(&wlist->lock);
	wlist->release_watch = release_watch;
}
EXPORT_SYMBOL_GPL(wq_init_watch_list);

struct wq_watch *wq_watch_alloc(struct wq_queue *q, u64 id, u8 watch_id)
{
	struct wq_watch *w;
	int ret;

	/*
	 * Upstream sizes nothing by default; we give an unsized queue a ring.
	 * Usually the ioctl dispatch did so before the source took its mutex;
	 * this takes no sleeping lock of the queue either way.
	 */
	ret = wq_queue_size_default(q);
	if (ret)
		return ERR_PTR(ret);

	w = kzalloc(sizeof(*w), GFP_KERNEL_ACCOUNT);
	if (!w)
		return ERR_PTR(-ENOMEM);
	w->user = wq_user_get();
	if (!w->user) {
		kfree(w);
		return ERR_PTR(-ENOMEM);
	}
	ret = wq_user_charge_watch(w->user);
	if (ret) {
		wq_user_put(w->user);
		kfree(w);
		return ERR_PTR(ret);
	}
	INIT_HLIST_NODE(&w->list_node);
	INIT_HLIST_NODE(&w->queue_node);
	refcount_inc(&q->ref);
	w->queue = q;
	w->cred = get_current_cred();
	w->id = id;
	w->info_id = (u32)watch_id << WQ_INFO_ID__SHIFT;
	return w;
}
EXPORT_SYMBOL_GPL(wq_watch_alloc);

/* Everything but the watch count, which its removal already gave back. */
static void wq_watch_put_owner(struct wq_watch *w)
{
	put_cred(w->cred);
	wq_user_put(w->user);
	/* May drop the last queue reference: that frees via a workqueue. */
	wq_queue_put(w->queue);
	kfree(w);
}

/*
 * A grace period after the watch left its list: no poster can still see
 * it.  An RCU callback, not the remover: that may be a probe handler, where
 * the user table's lock (a sleeping lock on PREEMPT_RT) must not be taken.
 */
static void wq_watch_free_rcu(struct rcu_head *rcu)
{
	wq_watch_put_owner(container_of(rcu, struct wq_watch, rcu));
}

void wq_watch_free(struct wq_watch *w)
{
	if (!w)
		return;
	wq_user_uncharge_watch(w->user);
	wq_watch_put_owner(w);
}
EXPORT_SYMBOL_GPL(wq_watch_free);

int wq_add_watch(struct wq_watch_list *wlist, struct wq_watch *watch)
{
	struct wq_queue *q = watch->queue;
	unsigned long flags;
	struct wq_watch *w;
	int ret = 0;

	raw_spin_lock_irqsave(&wlist->lock, flags);
	hlist_for_each_entry(w, &wlist->watchers, list_node) {
		if (w->queue == q && w->id == watch->id) {
			ret = -EBUSY;
			goto out;
		}
	}
	raw_spin_lock(&q->lock);
	if (q->dead) {
		ret = -ENOENT;
	} else {
		watch->wlist = wlist;
		hlist_add_head(&watch->queue_node, &q->watches);
		hlist_add_head_rcu(&watch->list_node, &wlist->watchers);
	}
	raw_spin_unlock(&q->lock);
out:
	raw_spin_unlock_irqrestore(&wlist->lock, flags);
	return ret;
}
EXPORT_SYMBOL_GPL(wq_add_watch);

/*
 * Second half of a teardown we own (the watch is off its wlist): post the
 * removal record if asked and unlink from the queue in one critical
 * section, so the queue cannot go away in between.
 */
static void wq_watch_detach(struct wq_watch *w, bool notify, u64 id)
{
	struct wq_removal_notification rm = {
		.watch.type	= WQ_TYPE_META,
		.watch.subtype	= WQ_META_REMOVAL,
	};
	struct wq_queue *q = w->queue;
	unsigned long flags;
	bool posted = false;

	rm.watch.info = w->info_id | (id ? sizeof(rm) : sizeof(rm.watch));
	rm.id = id;

	rcu_read_lock();
	if (notify)
		posted = wq_queue_post(q, &rm.watch);
	raw_spin_lock_irqsave(&q->lock, flags);
	hlist_del_init(&w->queue_node);
	raw_spin_unlock_irqrestore(&q->lock, flags);
	rcu_read_unlock();

	if (w->wlist->release_watch)
		w->wlist->release_watch(w);
	/* Atomic: a removed watch frees its slot in the user's limit at once. */
	wq_user_uncharge_watch(w->user);
	call_rcu(&w->rcu, wq_watch_free_rcu);
}

int wq_remove_watch(struct wq_watch_list *wlist, struct wq_queue *q, u64 id)
{
	struct wq_watch *w, *found = NULL;
	unsigned long flags;

	raw_spin_lock_irqsave(&wlist->lock, flags);
	hlist_for_each_entry(w, &wlist->watchers, list_node) {
		if (w->queue == q && w->id == id) {
			hlist_del_init_rcu(&w->list_node);
			found = w;
			break;
		}
	}
	raw_spin_unlock_irqrestore(&wlist->lock, flags);
	if (!found)
		return -EBADSLT;
	wq_watch_detach(found, true, id);
	return 0;
}
EXPORT_SYMBOL_GPL(wq_remove_watch);

void wq_remove_watch_list(struct wq_watch_list *wlist, u64 id)
{
	unsigned long flags;
	struct wq_watch *w;

	for (;;) {
		raw_spin_lock_irqsave(&wlist->lock, flags);
		w = hlist_empty(&wlist->watchers) ? NULL :
		    hlist_entry(wlist->watchers.first, struct wq_watch, list_node);
		if (w)
			hlist_del_init_rcu(&w->list_node);
		raw_spin_unlock_irqrestore(&wlist->lock, flags);
		if (!w)
			return;
		wq_watch_detach(w, true, id);
	}
}
EXPORT_SYMBOL_GPL(wq_remove_watch_list);

/*
 * The queue is closing (q->dead is set, so no watch can be added): detach
 * every watch without removal records, as upstream does.  A watch whose
 * teardown someone else owns is left to them; we wait for it to leave.
 */
void wq_queue_clear_watches(struct wq_queue *q)
{
	struct wq_watch_list *wlist;
	struct wq_watch *w;
	bool owned;

	for (;;) {
		rcu_read_lock();
		raw_spin_lock_irq(&q->lock);
		w = hlist_empty(&q->watches) ? NULL :
		    hlist_entry(q->watches.first, struct wq_watch, queue_node);
		raw_spin_unlock_irq(&q->lock);
		if (!w) {
			rcu_read_unlock();
			return;
		}
		/* w and its wlist stay valid: both are freed after RCU. */
		wlist = w->wlist;
		raw_spin_lock_irq(&wlist->lock);
		owned = !hlist_unhashed(&w->list_node);
		if (owned)
			hlist_del_init_rcu(&w->list_node);
		raw_spin_unlock_irq(&wlist->lock);
		rcu_read_unlock();

		if (owned)
			wq_watch_detach(w, false, 0);
		else
			cond_resched();
	}
}
