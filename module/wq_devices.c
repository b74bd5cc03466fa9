// SPDX-License-Identifier: GPL-2.0
/*
 * Device watches (WQ_IOC_WATCH_DEVICES).
 *
 * The global list is the original series' device_watchers: one watch list,
 * object id 0, that gets every block error and every USB event.  Disk
 * watches are kept per disk, keyed by the disk's device number in stat(2)'s
 * encoding (also their object id), in a wq_objtab the block probe searches
 * under RCU, as key watches are kept per serial.
 *
 * The block tracepoint is armed while any device watch exists, the USB
 * hooks while a global watch exists.  Arming happens in the ioctl under
 * wq_devices_mutex; when the last watch of either kind goes, the disk
 * table's idle work disarms under the same mutex.  The disk table only
 * changes under the mutex too.
 */
#include <linux/blkdev.h>
#include <linux/capability.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/kdev_t.h>
#include <linux/mutex.h>
#include <linux/uaccess.h>
#include "wq_block.h"
#include "wq_devices.h"
#include "wq_objtab.h"
#include "wq_queue.h"
#include "wq_usb.h"

static struct wq_watch_list wq_global_list;
/* Watched disks by device number, also the records' object id. */
static struct wq_objtab wq_disk_tab;
/* Serialises watch changes, arming and disarming, and disk table changes. */
static DEFINE_MUTEX(wq_devices_mutex);
static atomic_t wq_global_watches = ATOMIC_INIT(0);

void wq_devices_post_block(struct wq_block_notification *n)
{
	struct wq_obj *obj;

	if (atomic_read(&wq_global_watches))
		wq_post(&wq_global_list, &n->watch, 0);
	if (!wq_objtab_watched(&wq_disk_tab))
		return;
	rcu_read_lock();
	obj = wq_objtab_find(&wq_disk_tab, n->dev);
	if (obj)
		wq_post(&obj->wlist, &n->watch, n->dev);
	rcu_read_unlock();
}

void wq_devices_post_usb(struct wq_notification *n)
{
	if (atomic_read(&wq_global_watches))
		wq_post(&wq_global_list, n, 0);
}

/* The disk table's idle work serves the global list as well. */
static void wq_global_release_watch(struct wq_watch *watch)
{
	if (atomic_dec_and_test(&wq_global_watches))
		wq_objtab_kick_idle(&wq_disk_tab);
}

/* Disarm what no watch needs any more; wq_devices_mutex held. */
static void wq_devices_disarm_unused(struct wq_objtab *tab)
{
	if (atomic_read(&wq_global_watches))
		return;
	wq_usb_disarm();
	if (wq_objtab_watched(tab))
		return;
	wq_block_disarm();
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
	/* Counted first so that a post racing with the add is not skipped. */
	atomic_inc(&wq_global_watches);
	ret = wq_add_watch(&wq_global_list, w);
	if (ret) {
		wq_watch_free(w);
		if (atomic_dec_and_test(&wq_global_watches))
			wq_objtab_kick_idle(&wq_disk_tab);
	}
	return ret;

err:
	/* Nothing may be left armed for no watch. */
	wq_devices_disarm_unused(&wq_disk_tab);
	return ret;
}

static int wq_disk_add(struct wq_queue *q, u64 dev, u8 watch_id)
{
	int ret;

	if (!wq_block_available())
		return -EOPNOTSUPP;
	ret = wq_block_arm();
	if (ret) {
		wq_devices_disarm_unused(&wq_disk_tab);
		return ret;
	}
	return wq_objtab_watch(&wq_disk_tab, q, dev, dev, sizeof(struct wq_obj),
			       NULL, watch_id);
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
	if (!wq_watch_req_valid(req.watch_id, req.flags, req.__reserved))
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

	if (mutex_lock_killable(&wq_devices_mutex))
		return -EINTR;
	if (req.blk_fd == -1 && req.watch_id >= 0)
		ret = wq_global_add(q, req.watch_id);
	else if (req.blk_fd == -1)
		ret = wq_remove_watch(&wq_global_list, q, 0);
	else if (req.watch_id >= 0)
		ret = wq_disk_add(q, dev, req.watch_id);
	else
		ret = wq_objtab_remove_watch(&wq_disk_tab, dev, dev, q);
	mutex_unlock(&wq_devices_mutex);
	return ret;
}

int wq_devices_init(void)
{
	int ret;

	wq_init_watch_list(&wq_global_list, wq_global_release_watch);
	wq_objtab_init(&wq_disk_tab, &wq_devices_mutex,
		       wq_devices_disarm_unused);
	ret = wq_block_init();
	if (ret)
		return ret;
	return wq_usb_init();
}

void wq_devices_exit(void)
{
	/* No queue is open (they pin the module), so no watch remains. */
	wq_objtab_exit(&wq_disk_tab);
	wq_usb_exit();
}
