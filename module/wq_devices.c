// SPDX-License-Identifier: GPL-2.0
/*
 * Device watches (WQ_IOC_WATCH_DEVICES).
 *
 * The global list is the original series' device_watchers: one watch list,
 * object id 0, that gets every block error and every USB event.  Disk
 * watches are kept per disk, keyed by the disk's device number in stat(2)'s
 * encoding (also their object id), in a hash table the block probe searches
 * under RCU, as key watches are kept per serial.
 *
 * The block tracepoint is armed while any device watch exists, the USB
 * hooks while a global watch exists.  Arming happens in the ioctl under
 * wq_devices_mutex; when the last watch goes, a work item disarms under
 * the same mutex.  The disk table only changes under the mutex too.
 */
#include <linux/blkdev.h>
#include <linux/capability.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/hashtable.h>
#include <linux/kdev_t.h>
#include <linux/mutex.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/workqueue.h>
#include "wq_block.h"
#include "wq_devices.h"
#include "wq_queue.h"
#include "wq_usb.h"

struct wq_disk_obj {
	struct hlist_node	node;		/* wq_disk_table, RCU */
	u64			dev;
	struct wq_watch_list	wlist;
	struct rcu_head		rcu;
};

static struct wq_watch_list wq_global_list;
static DEFINE_HASHTABLE(wq_disk_table, 6);
/* Serialises watch changes, arming and disarming, and disk table changes. */
static DEFINE_MUTEX(wq_devices_mutex);
static atomic_t wq_global_watches = ATOMIC_INIT(0);
static atomic_t wq_disk_watches = ATOMIC_INIT(0);
static void wq_devices_idle_work(struct work_struct *work);
static DECLARE_WORK(wq_devices_idle, wq_devices_idle_work);

static struct wq_disk_obj *wq_disk_find(u64 dev)
{
	struct wq_disk_obj *obj;

	hash_for_each_possible_rcu(wq_disk_table, obj, node, dev)
		if (obj->dev == dev)
			return obj;
	return NULL;
}

void wq_devices_post_block(struct wq_block_notification *n)
{
	struct wq_disk_obj *obj;

	if (atomic_read(&wq_global_watches))
		wq_post(&wq_global_list, &n->watch, 0);
	if (!atomic_read(&wq_disk_watches))
		return;
	rcu_read_lock();
	obj = wq_disk_find(n->dev);
	if (obj)
		wq_post(&obj->wlist, &n->watch, n->dev);
	rcu_read_unlock();
}

void wq_devices_post_usb(struct wq_notification *n)
{
	if (atomic_read(&wq_global_watches))
		wq_post(&wq_global_list, n, 0);
}

static void wq_global_release_watch(struct wq_watch *watch)
{
	if (atomic_dec_and_test(&wq_global_watches))
		schedule_work(&wq_devices_idle);
}

static void wq_disk_release_watch(struct wq_watch *watch)
{
	if (atomic_dec_and_test(&wq_disk_watches))
		schedule_work(&wq_devices_idle);
}

/* Disarm what no watch needs any more; wq_devices_mutex held. */
static void wq_devices_disarm_unused(void)
{
	if (atomic_read(&wq_global_watches))
		return;
	wq_usb_disarm();
	if (atomic_read(&wq_disk_watches))
		return;
	wq_block_disarm();
}

/* Drop the disk objects, once no disk watch (and no release) is left. */
static void wq_disks_prune(void)
{
	struct wq_disk_obj *obj;
	struct hlist_node *tmp;
	unsigned int bkt;

	if (atomic_read(&wq_disk_watches))
		return;
	hash_for_each_safe(wq_disk_table, bkt, tmp, obj, node) {
		if (hlist_empty(&obj->wlist.watchers)) {
			hash_del_rcu(&obj->node);
			/* Queues closing concurrently may still look at it. */
			kfree_rcu(obj, rcu);
		}
	}
}

static void wq_devices_idle_work(struct work_struct *work)
{
	mutex_lock(&wq_devices_mutex);
	wq_devices_disarm_unused();
	wq_disks_prune();
	mutex_unlock(&wq_devices_mutex);
}

/* Add @w to @wlist, counted in @count first so no racing post is skipped. */
static int wq_devices_add(struct wq_watch_list *wlist, struct wq_watch *w,
			  atomic_t *count)
{
	int ret;

	atomic_inc(count);
	ret = wq_add_watch(wlist, w);
	if (ret) {
		wq_watch_free(w);
		if (atomic_dec_and_test(count))
			schedule_work(&wq_devices_idle);
	}
	return ret;
}

static int wq_global_add(struct wq_queue *q, u8 watch_id)
{
	struct wq_watch *w;
	int ret = 0;

	if (!wq_block_available() && !wq_usb_available())
		return -EOPNOTSUPP;
	if (wq_block_available())
		ret = wq_block_arm();
	if (!ret && wq_usb_available())
		ret = wq_usb_arm();
	if (ret)
		goto err;
	w = wq_watch_alloc(q, 0, watch_id);
	if (IS_ERR(w)) {
		ret = PTR_ERR(w);
		goto err;
	}
	return wq_devices_add(&wq_global_list, w, &wq_global_watches);

err:
	/* Nothing may be left armed for no watch. */
	wq_devices_disarm_unused();
	return ret;
}

static int wq_disk_add(struct wq_queue *q, u64 dev, u8 watch_id)
{
	struct wq_disk_obj *obj;
	struct wq_watch *w;
	int ret;

	if (!wq_block_available())
		return -EOPNOTSUPP;
	ret = wq_block_arm();
	if (ret)
		goto err;
	w = wq_watch_alloc(q, dev, watch_id);
	if (IS_ERR(w)) {
		ret = PTR_ERR(w);
		goto err;
	}
	/* Stays valid after unlock: freeing needs wq_devices_mutex. */
	rcu_read_lock();
	obj = wq_disk_find(dev);
	rcu_read_unlock();
	if (!obj) {
		obj = kzalloc(sizeof(*obj), GFP_KERNEL_ACCOUNT);
		if (!obj) {
			wq_watch_free(w);
			ret = -ENOMEM;
			goto err;
		}
		obj->dev = dev;
		wq_init_watch_list(&obj->wlist, wq_disk_release_watch);
		hash_add_rcu(wq_disk_table, &obj->node, dev);
	}
	return wq_devices_add(&obj->wlist, w, &wq_disk_watches);

err:
	wq_devices_disarm_unused();
	return ret;
}

static int wq_disk_remove(struct wq_queue *q, u64 dev)
{
	struct wq_disk_obj *obj;

	rcu_read_lock();
	obj = wq_disk_find(dev);
	rcu_read_unlock();
	return obj ? wq_remove_watch(&obj->wlist, q, dev) : -EBADSLT;
}

/*
 * The whole disk behind an open block device file, as stat(2) encodes its
 * device number.  The open file keeps the disk alive meanwhile.
 */
static int wq_disk_of_fd(int fd, u64 *dev)
{
	struct file *file;
	struct inode *host;
	int ret = 0;

	if (fd < 0)
		return -EBADF;
	/* fget() refuses O_PATH descriptors: those never opened the device. */
	file = fget(fd);
	if (!file)
		return -EBADF;
	/* An opened block device file maps the block device's own inode. */
	host = file->f_mapping ? file->f_mapping->host : NULL;
	if (!S_ISBLK(file_inode(file)->i_mode) || !host ||
	    !sb_is_blkdev_sb(host->i_sb))
		ret = -ENOTBLK;
	else
		*dev = huge_encode_dev(disk_devt(I_BDEV(host)->bd_disk));
	fput(file);
	return ret;
}

long wq_devices_watch_ioctl(struct wq_queue *q, const void __user *arg)
{
	struct wq_watch_devices req;
	u64 dev = 0;
	long ret;

	if (copy_from_user(&req, arg, sizeof(req)))
		return -EFAULT;
	if (req.flags || req.__reserved || req.watch_id < -1 ||
	    req.watch_id > 0xff)
		return -EINVAL;

	if (req.blk_fd == -1) {
		/* Host-wide events: not for containers or unprivileged users. */
		if (req.watch_id >= 0 && !capable(CAP_SYS_ADMIN))
			return -EPERM;
	} else {
		ret = wq_disk_of_fd(req.blk_fd, &dev);
		if (ret)
			return ret;
	}

	mutex_lock(&wq_devices_mutex);
	if (req.blk_fd == -1 && req.watch_id >= 0)
		ret = wq_global_add(q, req.watch_id);
	else if (req.blk_fd == -1)
		ret = wq_remove_watch(&wq_global_list, q, 0);
	else if (req.watch_id >= 0)
		ret = wq_disk_add(q, dev, req.watch_id);
	else
		ret = wq_disk_remove(q, dev);
	mutex_unlock(&wq_devices_mutex);
	return ret;
}

int wq_devices_init(void)
{
	int ret;

	wq_init_watch_list(&wq_global_list, wq_global_release_watch);
	ret = wq_block_init();
	if (ret)
		return ret;
	return wq_usb_init();
}

void wq_devices_exit(void)
{
	/* No queue is open (they pin the module), so no watch remains. */
	flush_work(&wq_devices_idle);
	mutex_lock(&wq_devices_mutex);
	wq_devices_disarm_unused();
	wq_disks_prune();
	mutex_unlock(&wq_devices_mutex);
	wq_usb_exit();
	WARN_ON(!hash_empty(wq_disk_table));
}
