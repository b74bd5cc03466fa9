// SPDX-License-Identifier: GPL-2.0
/*
 * Device watches (WQ_IOC_WATCH_DEVICES).
 *
 * The global list is the original series' device_watchers: one watch list,
 * object id 0, that gets every block error and every USB event.  Disk
 * watches are kept per disk in a wq_objtab the block probe searches under
 * RCU, as key watches are kept per serial.  The object id (in records) is
 * the disk's device number in stat(2)'s encoding, but a later disk may get
 * the same number, so the key is what tells disks apart, wq_disk_key():
 * the disk's sequence number (5.15+) or its gendisk's address (5.10).
 *
 * A disk watch ends with its disk: the disk hooks (wq_block.c) call
 * wq_devices_disk_gone() when it is deleted (and, to be safe, when the
 * gendisk is released or, 5.15+, gets a new medium), which destroys the
 * object, posting removal records.  They are armed before an object is
 * inserted and stay armed while any object exists, so no object outlives
 * its gendisk and no address key can be reused under a watch.  A disk
 * already deleted cannot be watched (ENODEV); one deleted while the watch
 * is added ends at its release at the latest, as the ioctl holds the
 * device file (and so the gendisk) until the object is in the table.
 * Nothing holds a reference to a disk.
 *
 * The block tracepoint is armed while any device watch exists, the USB
 * hooks while a global watch exists, the disk hooks while the disk table
 * is not empty.  Arming happens in the ioctl under wq_devices_mutex; when
 * the last watch of either kind goes, the disk table's idle work disarms
 * under the same mutex.  The disk table only changes under the mutex too,
 * except for the hooks' removals.
 */
#include <linux/blkdev.h>
#include <linux/capability.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/kdev_t.h>
#include <linux/mutex.h>
#include <linux/uaccess.h>
#include "compat/wq_compat_block.h"
#include "wq_block.h"
#include "wq_devices.h"
#include "wq_objtab.h"
#include "wq_queue.h"
#include "wq_usb.h"
#include "wq_source.h"

static struct wq_watch_list wq_global_list;
/* Watched disks by wq_disk_key(); object id: the device number */
static struct wq_objtab wq_disk_tab;
/* Serialises watch changes, arming and disarming, and disk table changes. */
static DEFINE_MUTEX(wq_devices_mutex);
static atomic_t wq_global_watches = ATOMIC_INIT(0);

void wq_devices_post_block(struct wq_block_notification *n, u64 disk_key)
{
	struct wq_obj *obj;

	if (atomic_read(&wq_global_watches))
		wq_post(&wq_global_list, &n->watch, 0);
	if (!wq_objtab_watched(&wq_disk_tab))
		return;
	rcu_read_lock();
	obj = wq_objtab_find(&wq_disk_tab, disk_key);
	if (obj && obj->id == n->dev)
		wq_post(&obj->wlist, &n->watch, n->dev);
	rcu_read_unlock();
}

void wq_devices_disk_gone(struct gendisk *disk)
{
	wq_objtab_destroy(&wq_disk_tab, wq_disk_key(disk));
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
	/*
	 * Only the hooks remove objects besides us, so the table cannot fill
	 * behind our back; emptied by them, it gets here again when the
	 * last watch goes.
	 */
	if (hash_empty(tab->table))
		wq_block_disk_hooks_disarm();
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

/*
 * Mutex held; @disk is pinned by the caller's open device file, which
 * must stay open until the object is in the table: the release hook
 * would otherwise miss the disk.
 */
static int wq_disk_add(struct wq_queue *q, struct gendisk *disk, u8 watch_id)
{
	u64 dev = huge_encode_dev(disk_devt(disk));
	int ret;

	if (!wq_block_disk_hooks_available())
		return -EOPNOTSUPP;
	/* Both before the object exists, so that its end cannot be missed. */
	ret = wq_block_arm();
	if (!ret)
		ret = wq_block_disk_hooks_arm();
	/*
	 * Deleted already: its deletion hook has run.  Deleted from now on:
	 * the hook runs after the object is in (or, when del_gendisk() was
	 * entered before, the release hook will).
	 */
	if (!ret && !wq_disk_live(disk))
		ret = -ENODEV;
	if (ret) {
		wq_devices_disarm_unused(&wq_disk_tab);
		return ret;
	}
	return wq_objtab_watch(&wq_disk_tab, q, wq_disk_key(disk), dev,
			       sizeof(struct wq_obj), NULL, watch_id);
}

/*
 * The whole disk behind an open block device file, which keeps the disk
 * alive until the caller's fput().
 */
static struct file *wq_disk_of_fd(int fd, struct gendisk **disk)
{
	struct file *file;
	struct inode *host;

	if (fd < 0)
		return ERR_PTR(-EBADF);
	/* fget() refuses O_PATH descriptors: those never opened the device. */
	file = fget(fd);
	if (!file)
		return ERR_PTR(-EBADF);
	/* An opened block device file maps the block device's own inode. */
	host = file->f_mapping ? file->f_mapping->host : NULL;
	if (!S_ISBLK(file_inode(file)->i_mode) || !host ||
	    !sb_is_blkdev_sb(host->i_sb)) {
		fput(file);
		return ERR_PTR(-ENOTBLK);
	}
	*disk = I_BDEV(host)->bd_disk;
	return file;
}

static long wq_devices_watch_ioctl(struct wq_queue *q,
				   const void __user *arg)
{
	struct wq_watch_devices req;
	struct gendisk *disk = NULL;
	struct file *file = NULL;
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
		file = wq_disk_of_fd(req.blk_fd, &disk);
		if (IS_ERR(file))
			return PTR_ERR(file);
	}

	if (mutex_lock_killable(&wq_devices_mutex))
		return -EINTR;
	if (req.blk_fd == -1 && req.watch_id >= 0)
		ret = wq_global_add(q, req.watch_id);
	else if (req.blk_fd == -1)
		ret = wq_remove_watch(&wq_global_list, q, 0);
	else if (req.watch_id >= 0)
		ret = wq_disk_add(q, disk, req.watch_id);
	else
		ret = wq_objtab_remove_watch(&wq_disk_tab, wq_disk_key(disk),
					     huge_encode_dev(disk_devt(disk)),
					     q);
	mutex_unlock(&wq_devices_mutex);
	if (file)
		fput(file);
	return ret;
}

static int wq_devices_init(void)
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

static void wq_devices_exit(void)
{
	/* No queue is open (they pin the module), so no watch remains. */
	wq_objtab_exit(&wq_disk_tab);
	wq_usb_exit();
}

static u64 wq_devices_features(void)
{
	return (wq_block_available() ? WQ_FEATURE_BLOCK : 0) |
	       (wq_usb_available() ? WQ_FEATURE_USB : 0);
}

const struct wq_source wq_devices_source = {
	.name		= "devices",
	.watch_cmd	= WQ_IOC_WATCH_DEVICES,
	.watch_id_off	= offsetof(struct wq_watch_devices, watch_id),
	.watch		= wq_devices_watch_ioctl,
	.init		= wq_devices_init,
	.exit		= wq_devices_exit,
	.features	= wq_devices_features,
};
