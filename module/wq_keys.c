// SPDX-License-Identifier: GPL-2.0
/*
 * Key and keyring notifications: upstream's records, from kprobes placed
 * where upstream calls notify_key().
 *
 * Watches are kept per key serial (struct key has no watchers field on
 * kernels without CONFIG_KEY_NOTIFICATIONS), in a hash table that posters
 * search under RCU.  The probes are registered only while at least one key
 * watch exists.
 *
 * Several events can only be told apart or put in upstream's order by
 * knowing what the task is in the middle of: "add_key found an existing key
 * to update", "key_move is unlinking from this keyring", "this keyctl_chown
 * is about this key".  An outer probe claims a per-task slot, inner probes
 * fill it in or act on it, the outer return releases it (wq_key_slots.c).
 */
#include <linux/hashtable.h>
#include <linux/key.h>
#include <linux/kprobes.h>
#include <linux/mutex.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/workqueue.h>
#include "compat/wq_compat_keys.h"
#include "wq_key_hooks.h"
#include "wq_keys.h"
#include "wq_queue.h"

struct wq_key_obj {
	struct hlist_node	node;		/* wq_key_table, RCU */
	key_serial_t		serial;
	struct wq_watch_list	wlist;
	struct rcu_head		rcu;
};

static DEFINE_HASHTABLE(wq_key_table, 8);
/* Table changes; irq-safe because key destruction is seen from a kprobe. */
static DEFINE_SPINLOCK(wq_key_table_lock);
/* Serialises watch and unwatch against arming and disarming the hooks. */
static DEFINE_MUTEX(wq_keys_mutex);
static atomic_t wq_key_watches = ATOMIC_INIT(0);
/*
 * On system_wq, not wq_workqueue: up to 5.13, flushing a work item right
 * before destroying its workqueue trips a false "busy pwq" warning (the
 * flush barrier had no flush color), and module exit must flush this one.
 */
static void wq_keys_idle_work(struct work_struct *work);
static DECLARE_WORK(wq_keys_idle, wq_keys_idle_work);

static struct wq_key_obj *wq_key_find(key_serial_t serial)
{
	struct wq_key_obj *obj;

	hash_for_each_possible_rcu(wq_key_table, obj, node, serial)
		if (obj->serial == serial)
			return obj;
	return NULL;
}

void wq_key_notify(key_serial_t serial, enum wq_key_subtype subtype, u32 aux)
{
	struct wq_key_notification n = {
		.watch.type	= WQ_TYPE_KEY,
		.watch.subtype	= subtype,
		.watch.info	= sizeof(n),
		.key_id		= serial,
		.aux		= aux,
	};
	struct wq_key_obj *obj;

	if (!atomic_read(&wq_key_watches))
		return;
	rcu_read_lock();
	obj = wq_key_find(serial);
	if (obj)
		wq_post(&obj->wlist, &n.watch, serial);
	rcu_read_unlock();
}

/*
 * Whether @serial may have watchers; any context.  A hook skips its return
 * probe for a key nobody watches.  A watch added meanwhile may or may not
 * see that operation, as with upstream's notify_key().
 */
bool wq_key_watched(key_serial_t serial)
{
	bool watched;

	if (!atomic_read(&wq_key_watches))
		return false;
	rcu_read_lock();
	watched = wq_key_find(serial);
	rcu_read_unlock();
	return watched;
}

/* The key is being destroyed: every watcher gets a removal record. */
void wq_key_destroyed(key_serial_t serial)
{
	struct wq_key_obj *obj;
	unsigned long flags;

	if (!atomic_read(&wq_key_watches))
		return;
	spin_lock_irqsave(&wq_key_table_lock, flags);
	obj = wq_key_find(serial);
	if (obj)
		hash_del_rcu(&obj->node);
	spin_unlock_irqrestore(&wq_key_table_lock, flags);
	if (!obj)
		return;
	wq_remove_watch_list(&obj->wlist, serial);
	/* Queues closing concurrently may still look at obj->wlist. */
	kfree_rcu(obj, rcu);
}

static void wq_key_release_watch(struct wq_watch *watch)
{
	if (atomic_dec_and_test(&wq_key_watches))
		schedule_work(&wq_keys_idle);
}

/* Last watch gone: disarm the hooks and drop the emptied objects. */
static void wq_keys_idle_work(struct work_struct *work)
{
	struct hlist_node *tmp;
	struct wq_key_obj *obj;
	unsigned int bkt;

	mutex_lock(&wq_keys_mutex);
	if (atomic_read(&wq_key_watches) == 0) {
		wq_key_hooks_disarm();
		spin_lock_irq(&wq_key_table_lock);
		hash_for_each_safe(wq_key_table, bkt, tmp, obj, node) {
			if (hlist_empty(&obj->wlist.watchers)) {
				hash_del_rcu(&obj->node);
				kfree_rcu(obj, rcu);
			}
		}
		spin_unlock_irq(&wq_key_table_lock);
	}
	mutex_unlock(&wq_keys_mutex);
}

/* Find or insert the object for @serial; wq_keys_mutex held. */
static struct wq_key_obj *wq_key_get_obj(key_serial_t serial)
{
	struct wq_key_obj *obj;

	/* Stays valid after unlock: freeing needs the mutex or a dead key. */
	rcu_read_lock();
	obj = wq_key_find(serial);
	rcu_read_unlock();
	if (obj)
		return obj;
	obj = kzalloc(sizeof(*obj), GFP_KERNEL_ACCOUNT);
	if (!obj)
		return NULL;
	obj->serial = serial;
	wq_init_watch_list(&obj->wlist, wq_key_release_watch);
	spin_lock_irq(&wq_key_table_lock);
	hash_add_rcu(wq_key_table, &obj->node, serial);
	spin_unlock_irq(&wq_key_table_lock);
	return obj;
}

static int wq_key_add_watch(struct wq_queue *q, key_serial_t serial,
			    u8 watch_id)
{
	struct wq_key_obj *obj;
	struct wq_watch *w;
	int ret;

	ret = wq_key_hooks_arm();
	if (ret)
		return ret;
	w = wq_watch_alloc(q, serial, watch_id);
	if (IS_ERR(w))
		return PTR_ERR(w);
	obj = wq_key_get_obj(serial);
	if (!obj) {
		wq_watch_free(w);
		return -ENOMEM;
	}
	/* Counted first so that a post racing with the add is not skipped. */
	atomic_inc(&wq_key_watches);
	ret = wq_add_watch(&obj->wlist, w);
	if (ret) {
		wq_watch_free(w);
		if (atomic_dec_and_test(&wq_key_watches))
			schedule_work(&wq_keys_idle);
	}
	return ret;
}

static int wq_key_remove_watch(struct wq_queue *q, key_serial_t serial)
{
	struct wq_key_obj *obj;
	int ret = -EBADSLT;

	rcu_read_lock();
	obj = wq_key_find(serial);
	if (obj)
		ret = wq_remove_watch(&obj->wlist, q, serial);
	rcu_read_unlock();
	return ret;
}

long wq_keys_watch_ioctl(struct wq_queue *q, const void __user *arg)
{
	struct wq_watch_key req;
	key_ref_t key_ref;
	key_serial_t serial;
	long ret;

	if (copy_from_user(&req, arg, sizeof(req)))
		return -EFAULT;
	if (req.flags || req.__reserved || req.watch_id < -1 ||
	    req.watch_id > 0xff)
		return -EINVAL;

	/* As keyctl_watch_key(): View permission, special ids created. */
	key_ref = lookup_user_key(req.key, WQ_KEY_LOOKUP_CREATE, KEY_NEED_VIEW);
	if (IS_ERR(key_ref))
		return PTR_ERR(key_ref);
	/* The reference keeps the key alive, so it cannot be destroyed now. */
	serial = key_ref_to_ptr(key_ref)->serial;

	mutex_lock(&wq_keys_mutex);
	if (req.watch_id >= 0)
		ret = wq_key_add_watch(q, serial, req.watch_id);
	else
		ret = wq_key_remove_watch(q, serial);
	mutex_unlock(&wq_keys_mutex);

	key_ref_put(key_ref);
	return ret;
}

bool wq_keys_available(void)
{
	return wq_key_hooks_available();
}

int wq_keys_init(void)
{
	return wq_key_hooks_init();
}

void wq_keys_exit(void)
{
	/* No queue is open (they pin the module), so no key watch remains. */
	flush_work(&wq_keys_idle);
	mutex_lock(&wq_keys_mutex);
	wq_key_hooks_disarm();
	mutex_unlock(&wq_keys_mutex);
	WARN_ON(!hash_empty(wq_key_table));
}
