// SPDX-License-Identifier: GPL-2.0
/*
 * Filesystem watches (WQ_IOC_WATCH_SB).
 *
 * Watches are kept per superblock in a hash table keyed by the superblock's
 * address, which the hooks search under RCU.  No reference to the
 * superblock is held: a watch must not keep a filesystem alive after its
 * last unmount.  Instead the shutdown hook (generic_shutdown_super, which
 * every kill_sb path reaches before the superblock is freed) removes the
 * object; it is armed before the first object is inserted and stays armed
 * while any object exists, so no object outlives its superblock.  The
 * object also remembers the device number, and posts check it, so even a
 * filesystem that bypassed the shutdown hook could never have its address
 * reused silently by another one.
 *
 * Table changes take wq_sb_table_lock (irq-safe: shutdown is seen from a
 * kprobe); watch and unwatch are serialised with arming and disarming by
 * wq_sb_mutex; the hooks are disarmed by a work item once the last watch
 * is gone, as for keys.
 */
#include <linux/file.h>
#include <linux/hashtable.h>
#include <linux/jiffies.h>
#include <linux/kdev_t.h>
#include <linux/mutex.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/workqueue.h>
#include "wq_queue.h"
#include "wq_sb.h"
#include "wq_sb_hooks.h"

struct wq_sb_obj {
	struct hlist_node	node;		/* wq_sb_table, RCU */
	const struct super_block *sb;		/* never dereferenced */
	u64			sb_id;		/* st_dev encoding */
	unsigned long		enospc_next;	/* jiffies, rate limit */
	/* The filesystem stopped writing after an error: errors are noise. */
	bool			stopped;
	struct wq_watch_list	wlist;
	struct rcu_head		rcu;
};

static DEFINE_HASHTABLE(wq_sb_table, 6);
static DEFINE_SPINLOCK(wq_sb_table_lock);
static DEFINE_MUTEX(wq_sb_mutex);
static atomic_t wq_sb_watches = ATOMIC_INIT(0);
static void wq_sb_idle_work(struct work_struct *work);
static DECLARE_WORK(wq_sb_idle, wq_sb_idle_work);

static u64 wq_sb_id(const struct super_block *sb)
{
	return huge_encode_dev(sb->s_dev);
}

static struct wq_sb_obj *wq_sb_find(const struct super_block *sb)
{
	struct wq_sb_obj *obj;

	hash_for_each_possible_rcu(wq_sb_table, obj, node, (unsigned long)sb)
		if (obj->sb == sb)
			return obj;
	return NULL;
}

/* Under rcu_read_lock(); the superblock is live (a hook is inside it). */
static struct wq_sb_obj *wq_sb_find_live(const struct super_block *sb)
{
	struct wq_sb_obj *obj = wq_sb_find(sb);

	return obj && obj->sb_id == wq_sb_id(sb) ? obj : NULL;
}

static void wq_sb_post_obj(struct wq_sb_obj *obj, u8 subtype, u32 info_flags,
			   u32 error, u32 aux, u64 ino)
{
	struct wq_superblock_error_notification n = {
		.s.watch.type	= WQ_TYPE_SUPERBLOCK,
		.s.watch.subtype = subtype,
		.s.sb_id	= obj->sb_id,
	};

	if (subtype == WQ_SB_READONLY) {
		/* Plain store: only a hint for which errors to skip. */
		WRITE_ONCE(obj->stopped, (info_flags & WQ_SB_EMERGENCY) != 0);
		n.s.watch.info = info_flags | sizeof(n.s);
	} else {
		if (subtype == WQ_SB_ERROR && READ_ONCE(obj->stopped))
			return;
		n.s.watch.info = info_flags | sizeof(n);
		n.error = error;
		n.aux = aux;
		n.ino = ino;
	}
	wq_post(&obj->wlist, &n.s.watch, obj->sb_id);
}

void wq_sb_post(const struct super_block *sb, u8 subtype, u32 info_flags,
		u32 error, u32 aux, u64 ino)
{
	struct wq_sb_obj *obj;

	if (!atomic_read(&wq_sb_watches))
		return;
	rcu_read_lock();
	obj = wq_sb_find_live(sb);
	if (obj)
		wq_sb_post_obj(obj, subtype, info_flags, error, aux, ino);
	rcu_read_unlock();
}

void wq_sb_post_dev(dev_t dev, u8 subtype, u32 error, u32 aux, u64 ino)
{
	u64 sb_id = huge_encode_dev(dev);
	struct wq_sb_obj *obj;
	unsigned int bkt;

	if (!atomic_read(&wq_sb_watches))
		return;
	/* Rare events (quota warnings): a walk of the small table will do. */
	rcu_read_lock();
	hash_for_each_rcu(wq_sb_table, bkt, obj, node) {
		if (obj->sb_id == sb_id) {
			wq_sb_post_obj(obj, subtype, 0, error, aux, ino);
			break;
		}
	}
	rcu_read_unlock();
}

bool wq_sb_enospc_due(const struct super_block *sb)
{
	struct wq_sb_obj *obj;
	unsigned long next;
	bool due = false;

	if (!atomic_read(&wq_sb_watches))
		return false;
	rcu_read_lock();
	obj = wq_sb_find_live(sb);
	if (obj) {
		next = READ_ONCE(obj->enospc_next);
		/* Whoever moves the deadline on posts; racers skip. */
		due = time_after_eq(jiffies, next) &&
		      cmpxchg(&obj->enospc_next, next, jiffies + HZ) == next;
	}
	rcu_read_unlock();
	return due;
}

void wq_sb_destroyed(const struct super_block *sb)
{
	struct wq_sb_obj *obj;
	unsigned long flags;

	if (!atomic_read(&wq_sb_watches))
		return;
	spin_lock_irqsave(&wq_sb_table_lock, flags);
	obj = wq_sb_find(sb);
	if (obj)
		hash_del_rcu(&obj->node);
	spin_unlock_irqrestore(&wq_sb_table_lock, flags);
	if (!obj)
		return;
	wq_remove_watch_list(&obj->wlist, obj->sb_id);
	/* Queues closing concurrently may still look at obj->wlist. */
	kfree_rcu(obj, rcu);
}

static void wq_sb_release_watch(struct wq_watch *watch)
{
	if (atomic_dec_and_test(&wq_sb_watches))
		schedule_work(&wq_sb_idle);
}

/* Last watch gone: drop the emptied objects, then disarm the hooks. */
static void wq_sb_idle_work(struct work_struct *work)
{
	struct hlist_node *tmp;
	struct wq_sb_obj *obj;
	unsigned int bkt;

	mutex_lock(&wq_sb_mutex);
	if (atomic_read(&wq_sb_watches) == 0) {
		spin_lock_irq(&wq_sb_table_lock);
		hash_for_each_safe(wq_sb_table, bkt, tmp, obj, node) {
			if (hlist_empty(&obj->wlist.watchers)) {
				hash_del_rcu(&obj->node);
				kfree_rcu(obj, rcu);
			}
		}
		spin_unlock_irq(&wq_sb_table_lock);
		/* Only with no object left may the shutdown hook go. */
		if (hash_empty(wq_sb_table))
			wq_sb_hooks_disarm();
	}
	mutex_unlock(&wq_sb_mutex);
}

/* Find or insert the object for @sb; wq_sb_mutex held, @sb pinned. */
static struct wq_sb_obj *wq_sb_get_obj(const struct super_block *sb)
{
	struct wq_sb_obj *obj;

	/* Stays valid after unlock: freeing needs the mutex or a shutdown. */
	rcu_read_lock();
	obj = wq_sb_find(sb);
	rcu_read_unlock();
	if (obj)
		return obj;
	obj = kzalloc(sizeof(*obj), GFP_KERNEL_ACCOUNT);
	if (!obj)
		return NULL;
	obj->sb = sb;
	obj->sb_id = wq_sb_id(sb);
	obj->enospc_next = jiffies;
	wq_init_watch_list(&obj->wlist, wq_sb_release_watch);
	spin_lock_irq(&wq_sb_table_lock);
	hash_add_rcu(wq_sb_table, &obj->node, (unsigned long)sb);
	spin_unlock_irq(&wq_sb_table_lock);
	return obj;
}

static int wq_sb_add_watch(struct wq_queue *q, struct super_block *sb,
			   u8 watch_id)
{
	struct wq_sb_obj *obj;
	struct wq_watch *w;
	int ret;

	/* Before the object exists, so that its shutdown cannot be missed. */
	ret = wq_sb_hooks_arm(sb);
	if (ret)
		return ret;
	w = wq_watch_alloc(q, wq_sb_id(sb), watch_id);
	if (IS_ERR(w)) {
		ret = PTR_ERR(w);
		goto err;
	}
	obj = wq_sb_get_obj(sb);
	if (!obj) {
		wq_watch_free(w);
		ret = -ENOMEM;
		goto err;
	}
	/* Counted first so that a post racing with the add is not skipped. */
	atomic_inc(&wq_sb_watches);
	ret = wq_add_watch(&obj->wlist, w);
	if (ret) {
		wq_watch_free(w);
		if (atomic_dec_and_test(&wq_sb_watches))
			schedule_work(&wq_sb_idle);
	}
	return ret;

err:
	/* Nothing may stay armed for no watch. */
	if (!atomic_read(&wq_sb_watches))
		schedule_work(&wq_sb_idle);
	return ret;
}

static int wq_sb_remove_watch(struct wq_queue *q, struct super_block *sb)
{
	struct wq_sb_obj *obj;
	int ret = -EBADSLT;

	rcu_read_lock();
	obj = wq_sb_find_live(sb);
	if (obj)
		ret = wq_remove_watch(&obj->wlist, q, obj->sb_id);
	rcu_read_unlock();
	return ret;
}

long wq_sb_watch_ioctl(struct wq_queue *q, const void __user *arg)
{
	struct wq_watch_sb req;
	struct file *file;
	long ret;

	if (copy_from_user(&req, arg, sizeof(req)))
		return -EFAULT;
	if (req.flags || req.__reserved || req.watch_id < -1 ||
	    req.watch_id > 0xff)
		return -EINVAL;
	if (!wq_sb_available())
		return -EOPNOTSUPP;
	if (req.fd < 0)
		return -EBADF;
	/*
	 * Having opened a file on the filesystem is the permission.  fget()
	 * refuses O_PATH descriptors, which need no access to the file.  The
	 * open file pins its mount, so the superblock stays active.
	 */
	file = fget(req.fd);
	if (!file)
		return -EBADF;

	mutex_lock(&wq_sb_mutex);
	if (req.watch_id >= 0)
		ret = wq_sb_add_watch(q, file_inode(file)->i_sb, req.watch_id);
	else
		ret = wq_sb_remove_watch(q, file_inode(file)->i_sb);
	mutex_unlock(&wq_sb_mutex);
	fput(file);
	return ret;
}

bool wq_sb_available(void)
{
	return wq_sb_hooks_available();
}

bool wq_sb_fs_errors_available(void)
{
	return wq_sb_hooks_fs_errors_available();
}

int wq_sb_init(void)
{
	return wq_sb_hooks_init();
}

void wq_sb_exit(void)
{
	/* No queue is open (they pin the module), so no watch remains. */
	flush_work(&wq_sb_idle);
	mutex_lock(&wq_sb_mutex);
	wq_sb_hooks_disarm();
	mutex_unlock(&wq_sb_mutex);
	WARN_ON(!hash_empty(wq_sb_table));
}
