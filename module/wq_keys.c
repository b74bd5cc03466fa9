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
#include <linux/key.h>
#include <linux/kprobes.h>
#include <linux/mutex.h>
#include <linux/uaccess.h>
#include "compat/wq_compat_keys.h"
#include "wq_key_hooks.h"
#include "wq_keys.h"
#include "wq_objtab.h"
#include "wq_queue.h"

/* Watched keys by serial; also the records' object id. */
static struct wq_objtab wq_key_tab;
/* Serialises watch and unwatch against arming and disarming the hooks. */
static DEFINE_MUTEX(wq_keys_mutex);

void wq_key_notify(key_serial_t serial, enum wq_key_subtype subtype, u32 aux)
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

/*
 * Whether @serial may have watchers; any context.  A hook skips its return
 * probe for a key nobody watches.  A watch added meanwhile may or may not
 * see that operation, as with upstream's notify_key().
 */
bool wq_key_watched(key_serial_t serial)
{
	bool watched;

	if (!wq_objtab_watched(&wq_key_tab))
		return false;
	rcu_read_lock();
	watched = wq_objtab_find(&wq_key_tab, serial);
	rcu_read_unlock();
	return watched;
}

/* The key is being destroyed: every watcher gets a removal record. */
void wq_key_destroyed(key_serial_t serial)
{
	wq_objtab_destroy(&wq_key_tab, serial);
}

/* The last watch is gone (the emptied objects too): disarm the hooks. */
static void wq_keys_idle(struct wq_objtab *tab)
{
	if (!wq_objtab_watched(tab))
		wq_key_hooks_disarm();
}

long wq_keys_watch_ioctl(struct wq_queue *q, const void __user *arg)
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

bool wq_keys_available(void)
{
	return wq_key_hooks_available();
}

int wq_keys_init(void)
{
	wq_objtab_init(&wq_key_tab, &wq_keys_mutex, wq_keys_idle);
	return wq_key_hooks_init();
}

void wq_keys_exit(void)
{
	/* No queue is open (they pin the module), so no key watch remains. */
	wq_objtab_exit(&wq_key_tab);
}
