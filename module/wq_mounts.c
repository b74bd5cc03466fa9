// SPDX-License-Identifier: GPL-2.0
/*
 * Mount watches (WQ_IOC_WATCH_MOUNT).
 *
 * struct mount and every function that changes the mount tree are private
 * to fs/namespace.c, and its mount ids are not reachable through any
 * exported interface.  What is stable and exported is what user space
 * uses: the caller's /proc/thread-self/mountinfo, which shows exactly the
 * mounts the caller can reach, with their ids, and whose poll() wakes on
 * every change of the namespace's mounts.  The module keeps a copy of that
 * table and, woken, re-reads it from a work item and posts the differences
 * that concern each watched directory.
 *
 * One copy serves every watch of a view of a namespace: a struct
 * wq_mount_ns per (mount namespace, root directory), the namespace told by
 * its nsfs inode number (struct mnt_namespace is private), the root because
 * mountinfo names mount points relative to the reader's root (a chroot sees
 * other paths and fewer mounts).  Its mountinfo file pins the namespace, so
 * the inode number is not reused while the object lives.  A change wakes
 * one wait entry per namespace, whatever the number of watches; re-reads
 * are coalesced (a delayed work queued once however many changes come)
 * and rate-limited to one per WQ_MOUNT_READ_INTERVAL; a change arriving
 * during a read queues the work again, so the last change is always read.
 * The table's memory is charged once, not per watch, to one of the users
 * whose watches use it (its payer): to the memory cgroup and the per-user
 * mount table limit of the task that made the object, also when the
 * worker re-reads it; when the payer's last watch of the table ends while
 * other users' watches remain, to one of theirs (struct wq_mount_payer).
 * A re-read that fails (the table outgrew the payer's limit, or memory)
 * keeps the old table and tells every watch of the table about the loss.
 *
 * No reference to the watched directory is kept (it would keep its mount
 * busy): the watch covers the path the directory had, as mountinfo
 * spells it, when the watch was added.  Watches are found by path: each
 * change looks up the prefixes of its mount point in a hash table, so its
 * cost does not grow with the number of watches that it does not concern.
 *
 * Locking: wq_mounts_mutex serialises the look-up and entry of a queue's
 * watch of a path (EBUSY) and removals by path; no table is read and no
 * path looked up under it.  wq_mounts_lock (spinlock) guards the list of
 * watch objects (which teardown also changes), the list of namespaces and
 * their user counts.  ns->lock (a mutex) guards a namespace's table, its
 * hash of watches and its payers, and is held across a read of the table,
 * by the work or by a watch joining a stale table.  Order: wq_mounts_mutex, ns->lock;
 * wq_mounts_lock is innermost.
 */
#include <linux/dcache.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/fs_struct.h>
#include <linux/jhash.h>
#include <linux/magic.h>
#include <linux/mount.h>
#include <linux/moduleparam.h>
#include <linux/mutex.h>
#include <linux/path.h>
#include <linux/poll.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/uaccess.h>
#include <linux/wait.h>
#include <linux/workqueue.h>
#include "compat/wq_compat_memcg.h"
#include "wq_mount_table.h"
#include "wq_main.h"
#include "wq_queue.h"
#include "wq_user.h"
#include "wq_source.h"

/* At most one re-read of a namespace's table per interval. */
#define WQ_MOUNT_READ_INTERVAL	msecs_to_jiffies(10)
#define WQ_MOUNT_DIR_BITS	9

/* A user whose watches use a table, as the task that asked first was. */
struct wq_mount_payer {
	struct list_head	node;		/* ns->payers */
	struct wq_user		*user;
	struct mem_cgroup	*memcg;
	bool			exempt;		/* from the user's limit */
	unsigned int		objs;		/* the user's watches here */
};

struct wq_mount_ns {
	struct list_head	node;		/* wq_mount_nss */
	unsigned int		users;		/* objects; wq_mounts_lock */
	unsigned long		ns_ino;		/* nsfs inode of the namespace */
	struct path		root;		/* mountinfo's paths are below it */
	struct file		*file;		/* mountinfo, pins the namespace */
	wait_queue_head_t	*whead;		/* the namespace's poll queue */
	wait_queue_entry_t	wait;
	poll_table		pt;
	atomic_t		changes;	/* wake-ups so far */
	unsigned long		next_read;	/* jiffies: no re-read before */
	struct delayed_work	work;
	struct mutex		lock;		/* all below */
	int			read_changes;	/* changes before the last read */
	struct wq_mount_table	table;
	struct hlist_head	*dirs;		/* objects by path */
	struct list_head	payers;		/* one per user of the table */
	struct wq_mount_payer	*payer;		/* charged for the table */
};

struct wq_mount_obj {
	struct list_head	node;		/* wq_mount_objs */
	struct hlist_node	dir_node;	/* ns->dirs */
	const struct wq_queue	*queue;		/* identity only */
	struct wq_mount_ns	*ns;
	struct wq_mount_payer	*payer;		/* its user's, once joined */
	char			*path;		/* escaped as in mountinfo */
	size_t			path_len;
	struct wq_watch_list	wlist;
	struct rcu_head		rcu;
};

static LIST_HEAD(wq_mount_objs);
static LIST_HEAD(wq_mount_nss);
static DEFINE_SPINLOCK(wq_mounts_lock);
static DEFINE_MUTEX(wq_mounts_mutex);

/* Shared tables alive (a read-only parameter, for tests and monitoring). */
static atomic_t wq_mount_tables = ATOMIC_INIT(0);
module_param_named(mount_tables, wq_mount_tables.counter, int, 0444);
MODULE_PARM_DESC(mount_tables,
		 "Mount tables kept, one per mount namespace and root watched");

static struct hlist_head *wq_mount_bucket(struct wq_mount_ns *ns,
					  const char *path, size_t len)
{
	return &ns->dirs[jhash(path, len, 0) &
			 ((1U << WQ_MOUNT_DIR_BITS) - 1)];
}

/* Posts @c to the watches of the directory @mp[0, len) of @ns. */
static void wq_mount_post_dir(struct wq_mount_ns *ns,
			      const struct wq_mount_change *c, u32 len)
{
	struct wq_mount_notification n = {
		.watch.type	= WQ_TYPE_MOUNT,
		.watch.subtype	= c->subtype,
		.triggered_on	= c->parent,
		.auxiliary_mount = c->mnt->id,
	};
	const char *mp = c->mnt->mp;
	struct wq_mount_obj *obj;

	/* Below the directory unless it is the mount point itself. */
	n.watch.info = sizeof(n) | c->flags |
		       (c->mnt->mp_len > len ? WQ_MOUNT_IN_SUBTREE : 0);
	hlist_for_each_entry(obj, wq_mount_bucket(ns, mp, len), dir_node)
		if (obj->path_len == len && !memcmp(obj->path, mp, len))
			wq_post(&obj->wlist, &n.watch, 0);
}

/*
 * To every watch at or above the mount point: "/a" covers "/a" and "/a/b"
 * but not "/ab"; "/" covers everything.
 */
static void wq_mount_post(const struct wq_mount_change *c, void *data)
{
	struct wq_mount_ns *ns = data;
	const struct wq_mountinfo *m = c->mnt;
	u32 i;

	if (!m->mp_len || m->mp[0] != '/')
		return;
	wq_mount_post_dir(ns, c, 1);
	for (i = 1; i < m->mp_len; i++)
		if (m->mp[i] == '/')
			wq_mount_post_dir(ns, c, i);
	if (m->mp_len > 1)
		wq_mount_post_dir(ns, c, m->mp_len);
}

/*
 * Reads the table anew and posts the differences to the watches; under
 * ns->lock.  On error the old table stays and nothing was posted: the
 * next read posts the differences from it.
 */
static int wq_mount_ns_read(struct wq_mount_ns *ns)
{
	int changes = atomic_read(&ns->changes);
	struct wq_mount_payer *payer = ns->payer;
	struct mem_cgroup *old_memcg;
	struct wq_mount_table table;
	u64 room;
	int ret;

	WRITE_ONCE(ns->next_read, jiffies + WQ_MOUNT_READ_INTERVAL);
	/*
	 * The new table replaces the old one: it must fit in the user's limit
	 * in its place (both exist until the differences are posted, so a
	 * re-read may briefly hold twice the limit's share of one table).
	 */
	room = wq_user_mount_table_room(payer->user, payer->exempt);
	room = room > U64_MAX - ns->table.bytes ? U64_MAX :
	       room + ns->table.bytes;
	/* A worker belongs to no cgroup: charge the payer's. */
	old_memcg = wq_set_active_memcg(payer->memcg);
	ret = wq_mount_table_read(ns->file, &table, min_t(u64, room, SIZE_MAX));
	wq_set_active_memcg(old_memcg);
	if (ret)
		return ret;
	wq_user_uncharge_mount_table(payer->user, ns->table.bytes);
	ret = wq_user_charge_mount_table(payer->user, table.bytes,
					 payer->exempt);
	if (ret) {
		/* The old table stays, charged as it was. */
		wq_user_charge_mount_table(payer->user, ns->table.bytes, true);
		wq_mount_table_free(&table);
		return ret;
	}
	wq_mount_table_diff(&ns->table, &table, wq_mount_post, ns);
	wq_mount_table_free(&ns->table);
	ns->table = table;
	ns->read_changes = changes;
	return 0;
}

/*
 * Every watch of @ns may have missed records (under ns->lock).  The hash
 * holds at most the watches that users could pay for, and this runs only
 * after a failed read, itself rate-limited.
 */
static void wq_mount_ns_lost(struct wq_mount_ns *ns)
{
	u64 stamp = wq_loss_stamp();
	struct wq_mount_obj *obj;
	unsigned int i;

	for (i = 0; i < (1U << WQ_MOUNT_DIR_BITS); i++)
		hlist_for_each_entry(obj, &ns->dirs[i], dir_node)
			wq_post_loss(&obj->wlist, 1, stamp);
}

static void wq_mount_work(struct work_struct *work)
{
	struct wq_mount_ns *ns = container_of(to_delayed_work(work),
					      struct wq_mount_ns, work);
	int ret;

	mutex_lock(&ns->lock);
	ret = wq_mount_ns_read(ns);
	/*
	 * The old table stays and the next change retries, posting the
	 * differences from it; what came and went meanwhile is lost.
	 */
	if (ret)
		wq_mount_ns_lost(ns);
	mutex_unlock(&ns->lock);
	if (ret)
		pr_warn_ratelimited("cannot read the mount table: %d\n", ret);
}

/*
 * Called under the wait queue's lock by every change of the mount table
 * (touch_mnt_namespace()), possibly with mount locks held: only count the
 * change and queue the work.  Work already pending takes this change
 * along; work queued while the work runs makes it run again, no sooner
 * than WQ_MOUNT_READ_INTERVAL after the last read began.
 */
static int wq_mount_wake(wait_queue_entry_t *wait, unsigned int mode,
			 int sync, void *key)
{
	struct wq_mount_ns *ns = container_of(wait, struct wq_mount_ns, wait);
	unsigned long now = jiffies, next = READ_ONCE(ns->next_read);

	atomic_inc(&ns->changes);
	queue_delayed_work(wq_workqueue, &ns->work,
			   time_before(now, next) ? next - now : 0);
	return 0;
}

static void wq_mount_queue_proc(struct file *file, wait_queue_head_t *whead,
				poll_table *pt)
{
	struct wq_mount_ns *ns = container_of(pt, struct wq_mount_ns, pt);

	if (ns->whead)
		return;
	ns->whead = whead;
	init_waitqueue_func_entry(&ns->wait, wq_mount_wake);
	add_wait_queue(whead, &ns->wait);
}

/* The calling task's payer record, in no table yet; NULL if no memory. */
static struct wq_mount_payer *wq_mount_payer_new(void)
{
	struct wq_mount_payer *p = kzalloc(sizeof(*p), GFP_KERNEL_ACCOUNT);

	if (!p)
		return NULL;
	INIT_LIST_HEAD(&p->node);
	p->user = wq_user_get();
	if (!p->user) {
		kfree(p);
		return NULL;
	}
	p->exempt = wq_user_exempt();
	if (current->mm)
		p->memcg = get_mem_cgroup_from_mm(current->mm);
	return p;
}

static void wq_mount_payer_free(struct wq_mount_payer *p)
{
	if (!p)
		return;
	wq_user_put(p->user);
	mem_cgroup_put(p->memcg);
	kfree(p);
}

/*
 * @to pays for @ns's table from now on (under ns->lock), whatever its
 * limit: the table exists and serves its watches; a user past the limit
 * can make no other table until its usage falls.  Memory already
 * allocated stays charged to the old payer's memory cgroup until the next
 * read replaces the table.
 */
static void wq_mount_ns_pay(struct wq_mount_ns *ns, struct wq_mount_payer *to)
{
	wq_user_uncharge_mount_table(ns->payer->user, ns->table.bytes);
	wq_user_charge_mount_table(to->user, ns->table.bytes, true);
	ns->payer = to;
}

/*
 * @obj's user is one of @ns's payers from now on (under ns->lock), with
 * @fresh, the caller's record, if the user had none there: returns
 * whether @fresh was used.  A payer left without watches (the object's
 * maker, whose own watch failed) hands the table over.
 */
static bool wq_mount_payer_join(struct wq_mount_ns *ns,
				struct wq_mount_obj *obj,
				struct wq_mount_payer *fresh)
{
	struct wq_mount_payer *p, *old = ns->payer;
	bool used = false;

	list_for_each_entry(p, &ns->payers, node)
		if (p->user == fresh->user)
			goto found;
	p = fresh;
	used = true;
	list_add_tail(&p->node, &ns->payers);
found:
	p->objs++;
	obj->payer = p;
	if (!old->objs && old != p) {
		wq_mount_ns_pay(ns, p);
		list_del(&old->node);
		wq_mount_payer_free(old);
	}
	return used;
}

/*
 * @obj's watch is gone (under ns->lock).  The payer's last watch hands
 * the table over to another user's watches if there are any; if not, the
 * table goes with its last reference or passes to the next user to join.
 */
static void wq_mount_payer_leave(struct wq_mount_ns *ns,
				 struct wq_mount_obj *obj)
{
	struct wq_mount_payer *p = obj->payer;

	if (!p)
		return;
	obj->payer = NULL;
	if (--p->objs)
		return;
	if (p == ns->payer && list_is_singular(&ns->payers))
		return;
	list_del(&p->node);
	if (p == ns->payer)
		wq_mount_ns_pay(ns, list_first_entry(&ns->payers,
						     struct wq_mount_payer,
						     node));
	wq_mount_payer_free(p);
}

/* Undo what wq_mount_ns_new() set up; process context, no users left. */
static void wq_mount_ns_free(struct wq_mount_ns *ns)
{
	struct wq_mount_payer *p, *tmp;

	if (ns->whead)
		remove_wait_queue(ns->whead, &ns->wait);
	/* No wake-up can queue it any more. */
	cancel_delayed_work_sync(&ns->work);
	if (ns->table.bytes)
		wq_user_uncharge_mount_table(ns->payer->user, ns->table.bytes);
	wq_mount_table_free(&ns->table);
	if (ns->file)
		fput(ns->file);
	path_put(&ns->root);
	list_for_each_entry_safe(p, tmp, &ns->payers, node)
		wq_mount_payer_free(p);
	kvfree(ns->dirs);
	mutex_destroy(&ns->lock);
	kfree(ns);
	atomic_dec(&wq_mount_tables);
}

static void wq_mount_ns_put(struct wq_mount_ns *ns)
{
	bool last;

	spin_lock(&wq_mounts_lock);
	last = !--ns->users;
	if (last)
		list_del(&ns->node);
	spin_unlock(&wq_mounts_lock);
	if (last)
		wq_mount_ns_free(ns);
}

/* A view in use, with a reference; NULL if there is none yet. */
static struct wq_mount_ns *wq_mount_ns_find(unsigned long ino,
					    const struct path *root)
{
	struct wq_mount_ns *ns;

	list_for_each_entry(ns, &wq_mount_nss, node) {
		if (ns->ns_ino == ino && path_equal(&ns->root, root)) {
			ns->users++;
			return ns;
		}
	}
	return NULL;
}

/*
 * A new object for the caller's view with its first table read, charged
 * to the caller.  No global lock is held: a table may be large.
 */
static struct wq_mount_ns *wq_mount_ns_new(struct file *file,
					   unsigned long ino,
					   const struct path *root)
{
	struct wq_mount_ns *ns;
	int ret;

	ns = kzalloc(sizeof(*ns), GFP_KERNEL_ACCOUNT);
	if (!ns)
		return ERR_PTR(-ENOMEM);
	atomic_inc(&wq_mount_tables);
	INIT_LIST_HEAD(&ns->node);
	ns->users = 1;
	ns->ns_ino = ino;
	ns->root = *root;
	path_get(&ns->root);
	ns->file = get_file(file);
	ns->next_read = jiffies;
	INIT_DELAYED_WORK(&ns->work, wq_mount_work);
	mutex_init(&ns->lock);
	INIT_LIST_HEAD(&ns->payers);
	ns->dirs = kvcalloc(1U << WQ_MOUNT_DIR_BITS, sizeof(*ns->dirs),
			    GFP_KERNEL_ACCOUNT);
	/* The caller pays, until its watch joins or fails (see _join). */
	ns->payer = wq_mount_payer_new();
	if (!ns->payer || !ns->dirs) {
		wq_mount_payer_free(ns->payer);
		ns->payer = NULL;
		ret = -ENOMEM;
		goto err;
	}
	list_add(&ns->payer->node, &ns->payers);
	/*
	 * Wake-ups first, then the first copy, under the table lock: a change
	 * racing with the copy queues the work, which waits for the lock and
	 * then reads it.
	 */
	mutex_lock(&ns->lock);
	init_poll_funcptr(&ns->pt, wq_mount_queue_proc);
	vfs_poll(ns->file, &ns->pt);
	ret = ns->whead ? wq_mount_ns_read(ns) : -EINVAL;
	mutex_unlock(&ns->lock);
	if (ret)
		goto err;
	return ns;

err:
	wq_mount_ns_free(ns);
	return ERR_PTR(ret);
}

/* The caller's own mount table, really procfs's. */
static struct file *wq_mount_open_proc(const char *name, unsigned long magic)
{
	struct file *file = filp_open(name, O_RDONLY, 0);

	if (IS_ERR(file))
		return file;
	if (file_inode(file)->i_sb->s_magic != magic) {
		fput(file);
		return ERR_PTR(-ENOENT);
	}
	return file;
}

/*
 * The object for the calling thread's view of its mount namespace, with a
 * reference.  The thread's own, not its process's (/proc/thread-self, not
 * /proc/self): after setns(CLONE_NEWNS) or unshare(CLONE_FS) a thread may
 * have its own namespace and root.
 */
static struct wq_mount_ns *wq_mount_ns_get(void)
{
	struct wq_mount_ns *ns, *fresh;
	struct path root, root_after;
	struct file *nsf, *file;
	unsigned long ino;
	bool same_root;

	nsf = wq_mount_open_proc("/proc/thread-self/ns/mnt", NSFS_MAGIC);
	if (IS_ERR(nsf))
		return ERR_CAST(nsf);
	ino = file_inode(nsf)->i_ino;
	fput(nsf);

	get_fs_root(current->fs, &root);
	file = wq_mount_open_proc("/proc/thread-self/mountinfo",
				  PROC_SUPER_MAGIC);
	if (IS_ERR(file)) {
		path_put(&root);
		return ERR_CAST(file);
	}
	/* The file shows the paths below the root it was opened with. */
	get_fs_root(current->fs, &root_after);
	same_root = path_equal(&root, &root_after);
	path_put(&root_after);
	if (!same_root) {
		ns = ERR_PTR(-EAGAIN);
		goto out;
	}

	spin_lock(&wq_mounts_lock);
	ns = wq_mount_ns_find(ino, &root);
	spin_unlock(&wq_mounts_lock);
	if (ns)
		goto out;

	fresh = wq_mount_ns_new(file, ino, &root);
	if (IS_ERR(fresh)) {
		ns = fresh;
		goto out;
	}
	/* Another watch may have made one meanwhile: use the first. */
	spin_lock(&wq_mounts_lock);
	ns = wq_mount_ns_find(ino, &root);
	if (!ns)
		list_add(&fresh->node, &wq_mount_nss);
	spin_unlock(&wq_mounts_lock);
	if (ns)
		wq_mount_ns_free(fresh);
	else
		ns = fresh;
out:
	fput(file);
	path_put(&root);
	return ns;
}

/*
 * The watch left the list (unwatch or queue close: process context, no
 * locks held).
 */
static void wq_mount_release_watch(struct wq_watch *watch)
{
	struct wq_mount_obj *obj = container_of(watch->wlist,
						struct wq_mount_obj, wlist);
	struct wq_mount_ns *ns = obj->ns;

	spin_lock(&wq_mounts_lock);
	list_del_init(&obj->node);
	spin_unlock(&wq_mounts_lock);
	mutex_lock(&ns->lock);
	hlist_del_init(&obj->dir_node);
	wq_mount_payer_leave(ns, obj);
	mutex_unlock(&ns->lock);
	wq_mount_ns_put(ns);
	kfree(obj->path);
	/* Closing queues may still look at obj->wlist. */
	kfree_rcu(obj, rcu);
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

/* Under wq_mounts_mutex. */
static struct wq_mount_obj *wq_mount_find(const struct wq_queue *q,
					  const char *path)
{
	struct wq_mount_obj *obj;

	list_for_each_entry(obj, &wq_mount_objs, node)
		if (obj->queue == q && !strcmp(obj->path, path))
			return obj;
	return NULL;
}

/*
 * Enters @obj in its namespace's hash and its user among the payers
 * (taking *@fresh, the caller's payer record, if it is used), after a
 * fresh read if the table missed changes: a watch gets the changes made
 * after it was asked for, not those made before that the table had not
 * caught up with yet (which go to the watches already there).
 */
static int wq_mount_join(struct wq_mount_obj *obj,
			 struct wq_mount_payer **fresh)
{
	struct wq_mount_ns *ns = obj->ns;
	int ret = 0;

	if (mutex_lock_killable(&ns->lock))
		return -EINTR;
	if (atomic_read(&ns->changes) != ns->read_changes)
		ret = wq_mount_ns_read(ns);
	if (!ret) {
		hlist_add_head(&obj->dir_node,
			       wq_mount_bucket(ns, obj->path, obj->path_len));
		if (wq_mount_payer_join(ns, obj, *fresh))
			*fresh = NULL;
	}
	mutex_unlock(&ns->lock);
	return ret;
}

/* Takes over @path and the reference on @ns. */
static int wq_mount_add(struct wq_queue *q, struct wq_mount_ns *ns,
			char *path, size_t path_len, u8 watch_id)
{
	struct wq_mount_payer *payer;
	struct wq_mount_obj *obj;
	struct wq_watch *w;
	int ret;

	/* First, so that a user past the watch limit costs nothing more. */
	w = wq_watch_alloc(q, 0, watch_id);
	if (IS_ERR(w)) {
		kfree(path);
		wq_mount_ns_put(ns);
		return PTR_ERR(w);
	}
	obj = kzalloc(sizeof(*obj), GFP_KERNEL_ACCOUNT);
	payer = wq_mount_payer_new();
	if (!obj || !payer) {
		wq_mount_payer_free(payer);
		kfree(obj);
		wq_watch_free(w);
		kfree(path);
		wq_mount_ns_put(ns);
		return -ENOMEM;
	}
	INIT_LIST_HEAD(&obj->node);
	INIT_HLIST_NODE(&obj->dir_node);
	obj->queue = q;
	obj->ns = ns;
	obj->path = path;
	obj->path_len = path_len;
	wq_init_watch_list(&obj->wlist, wq_mount_release_watch);

	/*
	 * Entered in the list under the mutex, which makes a second watch of
	 * the path by q EBUSY; a removal finding it before its watch is added
	 * finds no watch (EBADSLT), as if it had come first.
	 */
	ret = mutex_lock_killable(&wq_mounts_mutex);
	if (ret)
		goto err_free;
	if (wq_mount_find(q, path)) {
		mutex_unlock(&wq_mounts_mutex);
		ret = -EBUSY;
		goto err_free;
	}
	spin_lock(&wq_mounts_lock);
	list_add(&obj->node, &wq_mount_objs);
	spin_unlock(&wq_mounts_lock);
	mutex_unlock(&wq_mounts_mutex);

	ret = wq_mount_join(obj, &payer);
	wq_mount_payer_free(payer);
	payer = NULL;
	if (ret)
		goto err_unlist;
	/* Once added, the watch may go at once: obj is not ours any more. */
	ret = wq_add_watch(&obj->wlist, w);
	if (ret) {
		mutex_lock(&ns->lock);
		hlist_del_init(&obj->dir_node);
		wq_mount_payer_leave(ns, obj);
		mutex_unlock(&ns->lock);
		goto err_unlist;
	}
	return 0;

err_unlist:
	/* The mutex: a removal may be looking at obj. */
	mutex_lock(&wq_mounts_mutex);
	spin_lock(&wq_mounts_lock);
	list_del_init(&obj->node);
	spin_unlock(&wq_mounts_lock);
	mutex_unlock(&wq_mounts_mutex);
err_free:
	wq_mount_payer_free(payer);
	wq_watch_free(w);
	wq_mount_ns_put(ns);
	kfree(obj->path);
	kfree(obj);
	return ret;
}

static long wq_mounts_watch_ioctl(struct wq_queue *q,
				  const void __user *arg)
{
	struct wq_watch_mount req;
	struct wq_mount_obj *obj;
	struct wq_mount_ns *ns;
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

	if (req.watch_id >= 0) {
		/* Path look-ups and the first read: before any global lock. */
		ns = wq_mount_ns_get();
		if (IS_ERR(ns)) {
			kfree(path);
			return PTR_ERR(ns);
		}
		return wq_mount_add(q, ns, path, path_len, req.watch_id);
	}

	ret = mutex_lock_killable(&wq_mounts_mutex);
	if (!ret) {
		spin_lock(&wq_mounts_lock);
		obj = wq_mount_find(q, path);
		spin_unlock(&wq_mounts_lock);
		/* The mutex keeps obj: only a removal or q's close frees it. */
		ret = obj ? wq_remove_watch(&obj->wlist, q, 0) : -EBADSLT;
		mutex_unlock(&wq_mounts_mutex);
	}
	kfree(path);
	return ret;
}

/* Mount watches need nothing that a kernel may lack. */
static u64 wq_mounts_features(void)
{
	return WQ_FEATURE_MOUNT;
}

const struct wq_source wq_mounts_source = {
	.name		= "mounts",
	.watch_cmd	= WQ_IOC_WATCH_MOUNT,
	.watch_id_off	= offsetof(struct wq_watch_mount, watch_id),
	.watch		= wq_mounts_watch_ioctl,
	.features	= wq_mounts_features,
};
