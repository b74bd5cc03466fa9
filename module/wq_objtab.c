// SPDX-License-Identifier: GPL-2.0
/* The watched objects of one source (see wq_objtab.h). */
#include <linux/bug.h>
#include <linux/rcupdate.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include "wq_objtab.h"

static void wq_objtab_idle_work(struct work_struct *work);

void wq_objtab_init(struct wq_objtab *tab, struct mutex *mutex,
		    void (*idle)(struct wq_objtab *tab))
{
	hash_init(tab->table);
	raw_spin_lock_init(&tab->lock);
	tab->mutex = mutex;
	atomic_set(&tab->watches, 0);
	INIT_WORK(&tab->idle_work, wq_objtab_idle_work);
	tab->idle = idle;
}

struct wq_obj *wq_objtab_find(struct wq_objtab *tab, u64 key)
{
	struct wq_obj *obj;

	hash_for_each_possible_rcu(tab->table, obj, node, key)
		if (obj->key == key)
			return obj;
	return NULL;
}

/*
 * On the system workqueue, not the module's: up to 5.13, flushing a work
 * item right before destroying its workqueue trips a false "busy pwq"
 * warning, and module exit flushes this one.
 */
void wq_objtab_kick_idle(struct wq_objtab *tab)
{
	schedule_work(&tab->idle_work);
}

/* A watch left its list (process context, no locks held). */
static void wq_objtab_release_watch(struct wq_watch *watch)
{
	struct wq_obj *obj = container_of(watch->wlist, struct wq_obj, wlist);

	if (atomic_dec_and_test(&obj->tab->watches))
		wq_objtab_kick_idle(obj->tab);
}

/* Drop the objects, all emptied: no watch is left; mutex held. */
static void wq_objtab_prune(struct wq_objtab *tab)
{
	struct hlist_node *tmp;
	struct wq_obj *obj;
	unsigned int bkt;

	raw_spin_lock_irq(&tab->lock);
	hash_for_each_safe(tab->table, bkt, tmp, obj, node) {
		if (hlist_empty(&obj->wlist.watchers)) {
			hash_del_rcu(&obj->node);
			kfree_rcu(obj, rcu);
		}
	}
	raw_spin_unlock_irq(&tab->lock);
}

static void wq_objtab_idle_work(struct work_struct *work)
{
	struct wq_objtab *tab = container_of(work, struct wq_objtab,
					     idle_work);

	mutex_lock(tab->mutex);
	if (!atomic_read(&tab->watches))
		wq_objtab_prune(tab);
	tab->idle(tab);
	mutex_unlock(tab->mutex);
}

void wq_objtab_exit(struct wq_objtab *tab)
{
	flush_work(&tab->idle_work);
	wq_objtab_idle_work(&tab->idle_work);
	WARN_ON(!hash_empty(tab->table));
}

/* Find or insert the object for @key; mutex held. */
static struct wq_obj *wq_objtab_get(struct wq_objtab *tab, u64 key, u64 id,
				    size_t size,
				    void (*init)(struct wq_obj *obj))
{
	struct wq_obj *obj;

	lockdep_assert_held(tab->mutex);
	/* Stays valid after unlock: freeing needs the mutex or a destroy. */
	rcu_read_lock();
	obj = wq_objtab_find(tab, key);
	rcu_read_unlock();
	if (obj && obj->id == id)
		return obj;
	/*
	 * Another id under this key: the object of a thing destroyed while
	 * nothing was watched (wq_objtab_destroy() skipped it), whose key was
	 * reused before the idle work ran.  Its list was empty then and no
	 * watch could be added to it since, as its thing is gone.
	 */
	if (obj && !WARN_ON_ONCE(!hlist_empty(&obj->wlist.watchers))) {
		raw_spin_lock_irq(&tab->lock);
		hash_del_rcu(&obj->node);
		raw_spin_unlock_irq(&tab->lock);
		kfree_rcu(obj, rcu);
	}
	obj = kzalloc(size, GFP_KERNEL_ACCOUNT);
	if (!obj)
		return NULL;
	obj->tab = tab;
	obj->key = key;
	obj->id = id;
	wq_init_watch_list(&obj->wlist, wq_objtab_release_watch);
	if (init)
		init(obj);
	raw_spin_lock_irq(&tab->lock);
	hash_add_rcu(tab->table, &obj->node, key);
	raw_spin_unlock_irq(&tab->lock);
	return obj;
}

int wq_objtab_watch(struct wq_objtab *tab, struct wq_queue *q, u64 key,
		    u64 id, size_t size, void (*init)(struct wq_obj *obj),
		    u8 watch_id)
{
	return wq_objtab_watch_private(tab, q, key, id, size, init, watch_id,
				       NULL);
}

int wq_objtab_watch_private(struct wq_objtab *tab, struct wq_queue *q,
			    u64 key, u64 id, size_t size,
			    void (*init)(struct wq_obj *obj), u8 watch_id,
			    void *private)
{
	struct wq_watch *w;
	struct wq_obj *obj;
	int ret;

	w = wq_watch_alloc(q, id, watch_id);
	if (IS_ERR(w)) {
		ret = PTR_ERR(w);
		goto err;
	}
	w->private = private;	/* before posters can see the watch */
	obj = wq_objtab_get(tab, key, id, size, init);
	if (!obj) {
		wq_watch_free(w);
		ret = -ENOMEM;
		goto err;
	}
	/* Counted first so that a post racing with the add is not skipped. */
	atomic_inc(&tab->watches);
	ret = wq_add_watch(&obj->wlist, w);
	if (!ret)
		return 0;
	wq_watch_free(w);
	atomic_dec(&tab->watches);
err:
	wq_objtab_kick_idle(tab);
	return ret;
}

int wq_objtab_remove_watch(struct wq_objtab *tab, u64 key, u64 id,
			   struct wq_queue *q)
{
	struct wq_obj *obj;
	int ret = -EBADSLT;

	rcu_read_lock();
	obj = wq_objtab_find(tab, key);
	if (obj && obj->id == id)
		ret = wq_remove_watch(&obj->wlist, q, id);
	rcu_read_unlock();
	return ret;
}

/* A bucket at a time, rescheduling between: tables may be large. */
void wq_objtab_lose(struct wq_objtab *tab, u64 lost)
{
	u64 stamp = wq_loss_stamp();
	struct wq_obj *obj;
	unsigned int bkt;

	for (bkt = 0; bkt < HASH_SIZE(tab->table); bkt++) {
		rcu_read_lock();
		hlist_for_each_entry_rcu(obj, &tab->table[bkt], node)
			wq_post_loss(&obj->wlist, lost, stamp);
		rcu_read_unlock();
		cond_resched();
	}
}

void wq_objtab_destroy(struct wq_objtab *tab, u64 key)
{
	struct wq_obj *obj;
	unsigned long flags;

	if (!wq_objtab_watched(tab))
		return;
	raw_spin_lock_irqsave(&tab->lock, flags);
	obj = wq_objtab_find(tab, key);
	if (obj)
		hash_del_rcu(&obj->node);
	raw_spin_unlock_irqrestore(&tab->lock, flags);
	if (!obj)
		return;
	wq_remove_watch_list(&obj->wlist, obj->id);
	/* Queues closing concurrently may still look at obj->wlist. */
	kfree_rcu(obj, rcu);
}
