// SPDX-License-Identifier: GPL-2.0
/*
 * Per-user accounting, keyed by kuid, in a small hash table.  Limits come
 * from module parameters and are not applied to CAP_SYS_RESOURCE (as pipe
 * buffer limits are not), but usage is always counted so that it balances.
 */
#include <linux/capability.h>
#include <linux/hashtable.h>
#include <linux/moduleparam.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/uidgid.h>
#include "wq_limits.h"
#include "wq_queue.h"
#include "wq_user.h"

struct wq_user {
	struct hlist_node	node;
	kuid_t			uid;
	refcount_t		ref;
	atomic_t		queues;
	atomic_t		watches;
	atomic64_t		ring_bytes;
	atomic64_t		mount_table_bytes;
};

/* Shared mount tables (wq_mounts.c) a user's watches made the module keep. */
unsigned long wq_max_user_mount_table_bytes = 64UL << 20;
module_param_named(max_user_mount_table_bytes, wq_max_user_mount_table_bytes,
		   ulong, 0644);
MODULE_PARM_DESC(max_user_mount_table_bytes,
		 "Mount table memory per user, bytes (ENOSPC past it)");

static DEFINE_HASHTABLE(wq_users, 6);
/* irq-safe: a watch puts its user from an RCU callback (softirq) */
static DEFINE_SPINLOCK(wq_users_lock);

static struct wq_user *wq_user_find(kuid_t uid)
{
	struct wq_user *u;

	hash_for_each_possible(wq_users, u, node, __kuid_val(uid))
		if (uid_eq(u->uid, uid))
			return u;
	return NULL;
}

struct wq_user *wq_user_get(void)
{
	kuid_t uid = current_uid();
	struct wq_user *u, *fresh;
	unsigned long flags;

	spin_lock_irqsave(&wq_users_lock, flags);
	u = wq_user_find(uid);
	if (u)
		refcount_inc(&u->ref);
	spin_unlock_irqrestore(&wq_users_lock, flags);
	if (u)
		return u;

	fresh = kzalloc(sizeof(*fresh), GFP_KERNEL);
	if (!fresh)
		return NULL;
	fresh->uid = uid;
	refcount_set(&fresh->ref, 1);

	/* Another open may have raced us to it. */
	spin_lock_irqsave(&wq_users_lock, flags);
	u = wq_user_find(uid);
	if (u) {
		refcount_inc(&u->ref);
	} else {
		hash_add(wq_users, &fresh->node, __kuid_val(uid));
		u = fresh;
		fresh = NULL;
	}
	spin_unlock_irqrestore(&wq_users_lock, flags);
	kfree(fresh);
	return u;
}

void wq_user_put(struct wq_user *u)
{
	unsigned long flags;

	if (!refcount_dec_and_lock_irqsave(&u->ref, &wq_users_lock, &flags))
		return;
	hash_del(&u->node);
	spin_unlock_irqrestore(&wq_users_lock, flags);
	kfree(u);
}

bool wq_user_exempt(void)
{
	return capable(CAP_SYS_RESOURCE);
}

static int wq_charge(atomic_t *v, unsigned int limit, int err)
{
	if (atomic_inc_return(v) > limit && !wq_user_exempt()) {
		atomic_dec(v);
		return err;
	}
	return 0;
}

int wq_user_charge_queue(struct wq_user *u)
{
	return wq_charge(&u->queues, READ_ONCE(wq_max_user_queues), -EMFILE);
}

void wq_user_uncharge_queue(struct wq_user *u)
{
	atomic_dec(&u->queues);
}

int wq_user_charge_watch(struct wq_user *u)
{
	return wq_charge(&u->watches, READ_ONCE(wq_max_user_watches), -EAGAIN);
}

void wq_user_uncharge_watch(struct wq_user *u)
{
	atomic_dec(&u->watches);
}

int wq_user_charge_ring(struct wq_user *u, u64 bytes)
{
	u64 limit = READ_ONCE(wq_max_user_ring_bytes);

	if (atomic64_add_return(bytes, &u->ring_bytes) > limit &&
	    !wq_user_exempt()) {
		atomic64_sub(bytes, &u->ring_bytes);
		return -ENOSPC;
	}
	return 0;
}

void wq_user_uncharge_ring(struct wq_user *u, u64 bytes)
{
	atomic64_sub(bytes, &u->ring_bytes);
}

/*
 * What may still be charged to @u for mount tables.  @exempt was decided
 * in the task the charge is for (the caller may be a worker, which has
 * every capability).
 */
u64 wq_user_mount_table_room(struct wq_user *u, bool exempt)
{
	u64 limit = READ_ONCE(wq_max_user_mount_table_bytes);
	u64 used = atomic64_read(&u->mount_table_bytes);

	if (exempt)
		return U64_MAX;
	return used < limit ? limit - used : 0;
}

int wq_user_charge_mount_table(struct wq_user *u, u64 bytes, bool exempt)
{
	u64 limit = READ_ONCE(wq_max_user_mount_table_bytes);

	if (atomic64_add_return(bytes, &u->mount_table_bytes) > limit &&
	    !exempt) {
		atomic64_sub(bytes, &u->mount_table_bytes);
		return -ENOSPC;
	}
	return 0;
}

void wq_user_uncharge_mount_table(struct wq_user *u, u64 bytes)
{
	atomic64_sub(bytes, &u->mount_table_bytes);
}

/* Every queue and watch holds its user; at module exit none may remain. */
void wq_user_exit(void)
{
	WARN_ON(!hash_empty(wq_users));
}
