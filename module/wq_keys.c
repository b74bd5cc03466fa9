// SPDX-License-Identifier: GPL-2.0
/*
 * Key and keyring notifications: upstream's records, from kprobes placed
 * where upstream calls notify_key().
 *
 * Watches are kept per key serial (struct key has no watchers field on
 * kernels without CONFIG_KEY_NOTIFICATIONS), in a hash table that posters
 * search under RCU.  The probes are registered while a key watch exists
 * and key_hooks_linger_ms after the last one went: registering and
 * unregistering them patches kernel text and interrupts every CPU, which
 * a user opening, watching and closing in a loop must not be able to make
 * the module do at will.  So the hooks are armed at most once per linger
 * period.
 *
 * Several events can only be told apart or put in upstream's order by
 * knowing what the task is in the middle of: "add_key found an existing key
 * to update", "key_move is unlinking from this keyring", "this keyctl_chown
 * is about this key".  An outer probe pushes a per-task frame, inner probes
 * fill it in or act on it, the outer return pops it (wq_key_slots.c).
 */
#include <linux/key.h>
#include <linux/kprobes.h>
#include <linux/moduleparam.h>
#include <linux/mutex.h>
#include <linux/uaccess.h>
#include <linux/workqueue.h>
#include "compat/wq_compat_keys.h"
#include "wq_key_hooks.h"
#include "wq_key_slots.h"
#include "wq_keys.h"
#include "wq_objtab.h"
#include "wq_main.h"
#include "wq_queue.h"
#include "wq_source.h"

/* Watched keys by serial; also the records' object id. */
struct wq_objtab wq_key_tab;
/* Serialises watch and unwatch against arming and disarming the hooks. */
static DEFINE_MUTEX(wq_keys_mutex);

static unsigned int wq_keys_linger_ms = 5000;
module_param_named(key_hooks_linger_ms, wq_keys_linger_ms, uint, 0644);
MODULE_PARM_DESC(key_hooks_linger_ms,
		 "Milliseconds the key hooks stay armed after the last key watch");

static void wq_keys_linger_work(struct work_struct *work);
static DECLARE_DELAYED_WORK(wq_keys_linger, wq_keys_linger_work);

/* Calls the hooks missed, not yet reported to the queues */
static atomic_long_t wq_keys_lost_pending = ATOMIC_LONG_INIT(0);

static void wq_keys_loss_work(struct work_struct *work);
static DECLARE_WORK(wq_keys_loss, wq_keys_loss_work);

static void wq_key_post(key_serial_t serial, enum wq_key_subtype subtype,
			u32 aux)
{
	struct wq_key_notification n = {
		.watch.type	= WQ_TYPE_KEY,
		.watch.subtype	= subtype,
		.watch.info	= sizeof(n),
		.key_id		= serial,
		.aux		= aux,
	};
	struct wq_obj *obj;

	if (!wq_objtab_watched(&wq_key_tab))
		return;
	rcu_read_lock();
	obj = wq_objtab_find(&wq_key_tab, serial);
	if (obj)
		wq_post(&obj->wlist, &n.watch, serial);
	rcu_read_unlock();
}

/* A link the task made is visible now: its record (wq_key_slots.h). */
void wq_key_link_post(void)
{
	struct wq_key_link l;

	if (wq_key_link_take(&l))
		wq_key_post(l.keyring, WQ_KEY_LINKED, l.key);
}

/* After the task's waiting link, if any: upstream posted that first. */
void wq_key_notify(key_serial_t serial, enum wq_key_subtype subtype, u32 aux)
{
	wq_key_link_done();
	wq_key_post(serial, subtype, aux);
}

/* The key is being destroyed: every watcher gets a removal record. */
void wq_key_destroyed(key_serial_t serial)
{
	wq_objtab_destroy(&wq_key_tab, serial);
}

/*
 * A missed call may have been about any watched key, and the hook cannot
 * tell which: every queue watching a key counts @count records lost.  From
 * a work item, so that a flood of misses costs one walk of the watches
 * rather than one each, in a probe handler; the loss record thus comes
 * shortly after the miss.  Any context.
 */
void wq_keys_lost(unsigned long count)
{
	atomic_long_add(count, &wq_keys_lost_pending);
	schedule_work(&wq_keys_loss);
}

static void wq_keys_loss_work(struct work_struct *work)
{
	unsigned long count = atomic_long_xchg(&wq_keys_lost_pending, 0);

	if (count)
		wq_objtab_lose(&wq_key_tab, count);
}

/* The last watch is gone (the emptied objects too): disarm after a while. */
static void wq_keys_idle(struct wq_objtab *tab)
{
	if (!wq_objtab_watched(tab))
		mod_delayed_work(wq_workqueue, &wq_keys_linger,
				 msecs_to_jiffies(READ_ONCE(wq_keys_linger_ms)));
}

/* Under the mutex, so no watch is added while the hooks go. */
static void wq_keys_linger_work(struct work_struct *work)
{
	mutex_lock(&wq_keys_mutex);
	if (!wq_objtab_watched(&wq_key_tab))
		wq_key_hooks_disarm();
	mutex_unlock(&wq_keys_mutex);
}

static long wq_keys_watch_ioctl(struct wq_queue *q,
				const void __user *arg)
{
	struct wq_watch_key req;
	key_ref_t key_ref;
	key_serial_t serial;
	long ret;

	if (copy_from_user(&req, arg, sizeof(req)))
		return -EFAULT;
	if (!wq_watch_req_valid(req.watch_id, req.flags, req.__reserved))
		return -EINVAL;

	/* As keyctl_watch_key(): View permission, special ids created. */
	key_ref = lookup_user_key(req.key, WQ_KEY_LOOKUP_CREATE, KEY_NEED_VIEW);
	if (IS_ERR(key_ref))
		return PTR_ERR(key_ref);
	/* The reference keeps the key alive, so it cannot be destroyed now. */
	serial = key_ref_to_ptr(key_ref)->serial;

	if (mutex_lock_killable(&wq_keys_mutex)) {
		key_ref_put(key_ref);
		return -EINTR;
	}
	if (req.watch_id >= 0) {
		ret = wq_key_hooks_arm();
		if (!ret)
			ret = wq_objtab_watch(&wq_key_tab, q, serial, serial,
					      sizeof(struct wq_obj), NULL,
					      req.watch_id);
	} else {
		ret = wq_objtab_remove_watch(&wq_key_tab, serial, serial, q);
	}
	mutex_unlock(&wq_keys_mutex);

	key_ref_put(key_ref);
	return ret;
}

static int wq_keys_init(void)
{
	wq_objtab_init(&wq_key_tab, &wq_keys_mutex, wq_keys_idle);
	return wq_key_hooks_init();
}

static void wq_keys_exit(void)
{
	/* No queue is open (they pin the module), so no key watch remains. */
	wq_objtab_exit(&wq_key_tab);
	cancel_delayed_work_sync(&wq_keys_linger);
	mutex_lock(&wq_keys_mutex);
	wq_key_hooks_disarm();
	mutex_unlock(&wq_keys_mutex);
	/* No hook runs any more to queue it again. */
	cancel_work_sync(&wq_keys_loss);
}

static u64 wq_keys_features(void)
{
	return wq_key_hooks_available() ? WQ_FEATURE_KEYS : 0;
}

const struct wq_source wq_keys_source = {
	.name		= "keys",
	.watch_cmd	= WQ_IOC_WATCH_KEY,
	.watch_id_off	= offsetof(struct wq_watch_key, watch_id),
	.watch		= wq_keys_watch_ioctl,
	.init		= wq_keys_init,
	.exit		= wq_keys_exit,
	.features	= wq_keys_features,
};
