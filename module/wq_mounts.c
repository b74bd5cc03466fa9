// SPDX-License-Identifier: GPL-2.0
/*
 * Mount watches (WQ_IOC_WATCH_MOUNT).
 *
 * struct mount and every function that changes the mount tree are private
 * to fs/namespace.c, and its mount ids are not reachable through any
 * exported interface.  What is stable and exported is what user space
 * uses: the caller's /proc/self/mountinfo, which shows exactly the mounts
 * the caller can reach, with their ids, and whose poll() wakes on every
 * change of the namespace's mounts.  So each watch opens that file in the
 * caller's context, hangs its own wait entry on the file's wait queue,
 * keeps a copy of the table and, woken, re-reads it from a work item and
 * posts the differences that concern the watched directory.
 *
 * No reference to the watched directory is kept (it would keep its mount
 * busy): the watch covers the path the directory had, as mountinfo
 * spells it, when the watch was added.
 *
 * Each watch has its own object (one file, one table, one watch list of
 * one watch).  wq_mounts_mutex serialises the ioctls; wq_mounts_lock
 * guards the list of objects, which teardown also changes.
 */
#include <linux/dcache.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/fs_struct.h>
#include <linux/magic.h>
#include <linux/mount.h>
#include <linux/mutex.h>
#include <linux/path.h>
#include <linux/poll.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/uaccess.h>
#include <linux/wait.h>
#include <linux/workqueue.h>
#include "wq_mount_table.h"
#include "wq_mounts.h"
#include "wq_queue.h"

struct wq_mount_obj {
	struct list_head	node;		/* wq_mount_objs */
	const struct wq_queue	*queue;		/* identity only */
	char			*path;		/* escaped as in mountinfo */
	size_t			path_len;
	struct file		*file;		/* the caller's mountinfo */
	wait_queue_head_t	*whead;		/* the namespace's poll queue */
	wait_queue_entry_t	wait;
	poll_table		pt;
	struct work_struct	work;
	struct mutex		lock;		/* table */
	struct wq_mnt_table	table;
	struct wq_watch_list	wlist;
	struct rcu_head		rcu;
};

static LIST_HEAD(wq_mount_objs);
static DEFINE_SPINLOCK(wq_mounts_lock);
static DEFINE_MUTEX(wq_mounts_mutex);

/* At or below the watched path; *below says which. */
static bool wq_mount_covers(const struct wq_mount_obj *obj,
			    const struct wq_mnt *m, bool *below)
{
	if (m->mp_len < obj->path_len ||
	    memcmp(m->mp, obj->path, obj->path_len))
		return false;
	*below = m->mp_len > obj->path_len;
	/* "/a" covers "/a/b" but not "/ab"; "/" covers everything. */
	return !*below || obj->path_len == 1 || m->mp[obj->path_len] == '/';
}

static void wq_mount_post(const struct wq_mnt_change *c, void *data)
{
	struct wq_mount_obj *obj = data;
	struct wq_mount_notification n = {
		.watch.type	= WQ_TYPE_MOUNT,
		.watch.subtype	= c->subtype,
		.triggered_on	= c->parent,
		.auxiliary_mount = c->mnt->id,
	};
	bool below;

	if (!wq_mount_covers(obj, c->mnt, &below))
		return;
	n.watch.info = sizeof(n) | c->flags | (below ? WQ_MOUNT_IN_SUBTREE : 0);
	wq_post(&obj->wlist, &n.watch, 0);
}

static void wq_mount_work(struct work_struct *work)
{
	struct wq_mount_obj *obj = container_of(work, struct wq_mount_obj,
						work);
	struct wq_mnt_table table;
	int ret;

	mutex_lock(&obj->lock);
	ret = wq_mnt_table_read(obj->file, &table);
	if (ret) {
		/* The next change retries; nothing was posted from this one. */
		pr_warn_ratelimited("cannot read the mount table: %d\n", ret);
	} else {
		wq_mnt_table_diff(&obj->table, &table, wq_mount_post, obj);
		wq_mnt_table_free(&obj->table);
		obj->table = table;
	}
	mutex_unlock(&obj->lock);
}

/*
 * Called under the wait queue's lock by every change of the mount table
 * (touch_mnt_namespace()), possibly with mount locks held: only queue the
 * work.  Work queued while the work runs makes it run again, so the last
 * change is always read.
 */
static int wq_mount_wake(wait_queue_entry_t *wait, unsigned int mode,
			 int sync, void *key)
{
	struct wq_mount_obj *obj = container_of(wait, struct wq_mount_obj,
						wait);

	queue_work(wq_workqueue, &obj->work);
	return 0;
}

static void wq_mount_queue_proc(struct file *file, wait_queue_head_t *whead,
				poll_table *pt)
{
	struct wq_mount_obj *obj = container_of(pt, struct wq_mount_obj, pt);

	if (obj->whead)
		return;
	obj->whead = whead;
	init_waitqueue_func_entry(&obj->wait, wq_mount_wake);
	add_wait_queue(whead, &obj->wait);
}

/* Undo what wq_mount_obj_new() set up; process context. */
static void wq_mount_obj_free(struct wq_mount_obj *obj)
{
	if (obj->whead)
		remove_wait_queue(obj->whead, &obj->wait);
	/* No wake-up can queue it any more. */
	cancel_work_sync(&obj->work);
	if (obj->file)
		fput(obj->file);
	wq_mnt_table_free(&obj->table);
	kfree(obj->path);
	/* Posters and closing queues may still look at obj->wlist. */
	kfree_rcu(obj, rcu);
}

/*
 * The watch left the list (unwatch or queue close: process context, no
 * locks held).
 */
static void wq_mount_release_watch(struct wq_watch *watch)
{
	struct wq_mount_obj *obj = container_of(watch->wlist,
						struct wq_mount_obj, wlist);

	spin_lock(&wq_mounts_lock);
	list_del_init(&obj->node);
	spin_unlock(&wq_mounts_lock);
	wq_mount_obj_free(obj);
}

/* mountinfo escapes space, tab, newline and backslash as \ooo. */
static char *wq_mount_escape(const char *path, size_t *lenp)
{
	size_t len = strlen(path), i, n = 0;
	char *out = kmalloc(4 * len + 1, GFP_KERNEL_ACCOUNT);

	if (!out)
		return NULL;
	for (i = 0; i < len; i++) {
		if (strchr(" \t\n\\", path[i])) {
			out[n++] = '\\';
			out[n++] = '0' + ((path[i] >> 6) & 7);
			out[n++] = '0' + ((path[i] >> 3) & 7);
			out[n++] = '0' + (path[i] & 7);
		} else {
			out[n++] = path[i];
		}
	}
	out[n] = '\0';
	*lenp = n;
	return out;
}

/* The directory's path as the caller sees it, escaped; ERR_PTR on error. */
static char *wq_mount_dir_path(struct file *dir, size_t *lenp)
{
	char *buf, *path, *escaped;
	struct path root;
	bool reachable;

	if (!d_is_dir(dir->f_path.dentry))
		return ERR_PTR(-ENOTDIR);
	if (d_unlinked(dir->f_path.dentry))
		return ERR_PTR(-ENOENT);
	/*
	 * A directory of another mount namespace (opened through
	 * /proc/<pid>/root) or outside a chroot: d_path() would name it as
	 * its own namespace does, which means nothing in the caller's table.
	 */
	get_fs_root(current->fs, &root);
	reachable = path_is_under(&dir->f_path, &root);
	path_put(&root);
	if (!reachable)
		return ERR_PTR(-EXDEV);
	buf = kmalloc(PATH_MAX, GFP_KERNEL);
	if (!buf)
		return ERR_PTR(-ENOMEM);
	/* Relative to the caller's root, as mountinfo's mount points are. */
	path = d_path(&dir->f_path, buf, PATH_MAX);
	if (IS_ERR(path)) {
		escaped = ERR_CAST(path);
	} else {
		escaped = wq_mount_escape(path, lenp);
		if (!escaped)
			escaped = ERR_PTR(-ENOMEM);
	}
	kfree(buf);
	return escaped;
}

/* The caller's own mount table, really procfs's. */
static struct file *wq_mount_open_table(void)
{
	struct file *file = filp_open("/proc/self/mountinfo", O_RDONLY, 0);

	if (IS_ERR(file))
		return file;
	if (file_inode(file)->i_sb->s_magic != PROC_SUPER_MAGIC) {
		fput(file);
		return ERR_PTR(-ENOENT);
	}
	return file;
}

static struct wq_mount_obj *wq_mount_find(const struct wq_queue *q,
					  const char *path)
{
	struct wq_mount_obj *obj;

	list_for_each_entry(obj, &wq_mount_objs, node)
		if (obj->queue == q && !strcmp(obj->path, path))
			return obj;
	return NULL;
}

static int wq_mount_add(struct wq_queue *q, char *path, size_t path_len,
			u8 watch_id)
{
	struct wq_mount_obj *obj;
	struct wq_watch *w;
	int ret;

	/* First, so that a user past the watch limit costs nothing more. */
	w = wq_watch_alloc(q, 0, watch_id);
	if (IS_ERR(w)) {
		kfree(path);
		return PTR_ERR(w);
	}
	obj = kzalloc(sizeof(*obj), GFP_KERNEL_ACCOUNT);
	if (!obj) {
		wq_watch_free(w);
		kfree(path);
		return -ENOMEM;
	}
	INIT_LIST_HEAD(&obj->node);
	obj->queue = q;
	obj->path = path;
	obj->path_len = path_len;
	INIT_WORK(&obj->work, wq_mount_work);
	mutex_init(&obj->lock);
	wq_init_watch_list(&obj->wlist, wq_mount_release_watch);

	obj->file = wq_mount_open_table();
	if (IS_ERR(obj->file)) {
		ret = PTR_ERR(obj->file);
		obj->file = NULL;
		goto err;
	}
	/*
	 * Wake-ups first, then the first copy, under the table lock: a change
	 * racing with the copy queues the work, which waits for the lock and
	 * then reads it.
	 */
	mutex_lock(&obj->lock);
	init_poll_funcptr(&obj->pt, wq_mount_queue_proc);
	vfs_poll(obj->file, &obj->pt);
	ret = obj->whead ? wq_mnt_table_read(obj->file, &obj->table) : -EINVAL;
	mutex_unlock(&obj->lock);
	if (ret)
		goto err;

	spin_lock(&wq_mounts_lock);
	list_add(&obj->node, &wq_mount_objs);
	spin_unlock(&wq_mounts_lock);
	ret = wq_add_watch(&obj->wlist, w);
	if (ret) {
		spin_lock(&wq_mounts_lock);
		list_del_init(&obj->node);
		spin_unlock(&wq_mounts_lock);
		goto err;
	}
	return 0;

err:
	wq_watch_free(w);
	wq_mount_obj_free(obj);
	return ret;
}

long wq_mounts_watch_ioctl(struct wq_queue *q, const void __user *arg)
{
	struct wq_watch_mount req;
	struct wq_mount_obj *obj;
	struct file *dir;
	size_t path_len;
	char *path;
	long ret;

	if (copy_from_user(&req, arg, sizeof(req)))
		return -EFAULT;
	if (!wq_watch_req_valid(req.watch_id, req.flags, req.__reserved))
		return -EINVAL;
	if (req.fd < 0)
		return -EBADF;
	dir = fget(req.fd);
	if (!dir)
		return -EBADF;
	path = wq_mount_dir_path(dir, &path_len);
	fput(dir);
	if (IS_ERR(path))
		return PTR_ERR(path);

	if (mutex_lock_killable(&wq_mounts_mutex)) {
		kfree(path);
		return -EINTR;
	}
	spin_lock(&wq_mounts_lock);
	obj = wq_mount_find(q, path);
	spin_unlock(&wq_mounts_lock);
	if (req.watch_id >= 0 && obj) {
		ret = -EBUSY;
	} else if (req.watch_id >= 0) {
		ret = wq_mount_add(q, path, path_len, req.watch_id);
		path = NULL;	/* the object's now, or freed */
	} else {
		/* The mutex keeps obj: only a removal or q's close frees it. */
		ret = obj ? wq_remove_watch(&obj->wlist, q, 0) : -EBADSLT;
	}
	mutex_unlock(&wq_mounts_mutex);
	kfree(path);
	return ret;
}
