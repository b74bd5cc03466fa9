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
 * The table is a wq_objtab (its object id is sb_id); watch and unwatch are
 * serialised with arming and disarming by wq_sb_mutex; the hooks are
 * disarmed by the table's idle work once the last watch is gone, as for
 * keys.
 *
 * Who sees what (a container must see nothing of the host, nobody another
 * user's files): a watch whose setter had CAP_SYS_ADMIN in the
 * filesystem's user namespace when adding it sees every record (its
 * private is WQ_SB_SEES_ALL).  Any other watch sees a record about a file
 * only if the file's owner (i_uid) is the setter's fsuid, a quota record
 * only for the setter's fsuid, fsgid or supplementary groups, and
 * filesystem-wide records (read-only, out of space, errors naming no
 * file), which tell what statfs(2), mountinfo and ext4's sysfs counters
 * show anyway.  Quota ids are translated into the setter's user namespace,
 * the overflow id where it has no mapping, as stat(2) shows such owners.
 * The setter's cred is the watch's (wq_watch->cred): the checks are a few
 * compares in the posting hook, which may not sleep.
 */
#include <linux/capability.h>
#include <linux/cred.h>
#include <linux/file.h>
#include <linux/jiffies.h>
#include <linux/kdev_t.h>
#include <linux/mutex.h>
#include <linux/quota.h>
#include <linux/uaccess.h>
#include <linux/uidgid.h>
#include "wq_objtab.h"
#include "wq_queue.h"
#include "wq_sb.h"
#include "wq_sb_hooks.h"
#include "wq_source.h"

struct wq_sb_obj {
	struct wq_obj		obj;		/* key: the address; id: sb_id */
	unsigned long		enospc_next;	/* jiffies, rate limit */
	/* The filesystem stopped writing after an error: errors are noise. */
	bool			stopped;
};

static struct wq_objtab wq_sb_tab;
static DEFINE_MUTEX(wq_sb_mutex);

/* A watch's private: its setter may see everything (see above). */
static char wq_sb_sees_all;
#define WQ_SB_SEES_ALL	((void *)&wq_sb_sees_all)

/* What a record is about, for the per-watch check (wq_sb_allow()). */
struct wq_sb_about {
	const struct inode	*inode;	/* the file it names, or NULL */
	const struct kqid	*qid;	/* WQ_SB_EDQUOT: the quota's id */
};

/* The records' object id: st_dev's encoding */
static u64 wq_sb_id(const struct super_block *sb)
{
	return huge_encode_dev(sb->s_dev);
}

static u64 wq_sb_key(const struct super_block *sb)
{
	return (unsigned long)sb;
}

/* Under rcu_read_lock(); the superblock is live (a hook is inside it). */
static struct wq_sb_obj *wq_sb_find_live(const struct super_block *sb)
{
	struct wq_obj *obj = wq_objtab_find(&wq_sb_tab, wq_sb_key(sb));

	if (!obj || obj->id != wq_sb_id(sb))
		return NULL;
	return container_of(obj, struct wq_sb_obj, obj);
}

/* @gid is @cred's fsgid or one of its groups (kept sorted by the kernel). */
static bool wq_sb_in_groups(const struct cred *cred, kgid_t gid)
{
	const struct group_info *gi = cred->group_info;
	unsigned int lo = 0, hi = gi->ngroups, mid;

	if (gid_eq(gid, cred->fsgid))
		return true;
	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (gid_gt(gid, gi->gid[mid]))
			lo = mid + 1;
		else if (gid_lt(gid, gi->gid[mid]))
			hi = mid;
		else
			return true;
	}
	return false;
}

static bool wq_sb_own_qid(const struct cred *cred, const struct kqid *qid)
{
	switch (qid->type) {
	case USRQUOTA:
		return uid_eq(qid->uid, cred->fsuid);
	case GRPQUOTA:
		return wq_sb_in_groups(cred, qid->gid);
	default:
		return false;	/* project ids belong to no user */
	}
}

/* @qid as @cred's user namespace numbers it, the overflow id if unmapped. */
static u32 wq_sb_qid_seen(const struct cred *cred, const struct kqid *qid)
{
	switch (qid->type) {
	case USRQUOTA:
		return from_kuid_munged(cred->user_ns, qid->uid);
	case GRPQUOTA:
		return from_kgid_munged(cred->user_ns, qid->gid);
	default:
		return from_kprojid_munged(cred->user_ns, qid->projid);
	}
}

/*
 * May @w get the record @n (about @data, a struct wq_sb_about)?  Posting
 * context (see wq_watch_allow_t): reads only the watch's cred and the
 * inode the hook holds.  A quota record gets the id the watcher sees.
 */
static bool wq_sb_allow(const struct wq_watch *w, struct wq_notification *n,
			void *data)
{
	const struct wq_sb_about *about = data;
	const struct cred *cred = w->cred;
	bool all = w->private == WQ_SB_SEES_ALL;
	struct wq_superblock_error_notification *en;

	if (about->qid) {
		if (!all && !wq_sb_own_qid(cred, about->qid))
			return false;
		en = container_of(n, struct wq_superblock_error_notification,
				  s.watch);
		en->ino = wq_sb_qid_seen(cred, about->qid);
		return true;
	}
	return all || !about->inode || uid_eq(about->inode->i_uid, cred->fsuid);
}

static void wq_sb_post_obj(struct wq_sb_obj *obj, u8 subtype, u32 info_flags,
			   u32 error, u32 aux,
			   const struct wq_sb_about *about)
{
	struct wq_superblock_error_notification n = {
		.s.watch.type	= WQ_TYPE_SUPERBLOCK,
		.s.watch.subtype = subtype,
		.s.sb_id	= obj->obj.id,
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
		n.ino = about->inode ? about->inode->i_ino : 0;
	}
	/* Filesystem-wide records go to every watcher. */
	if (about->inode || about->qid)
		wq_post_allowed(&obj->obj.wlist, &n.s.watch, obj->obj.id,
				wq_sb_allow, (void *)about);
	else
		wq_post(&obj->obj.wlist, &n.s.watch, obj->obj.id);
}

void wq_sb_post(const struct super_block *sb, u8 subtype, u32 info_flags,
		u32 error, u32 aux, const struct inode *inode)
{
	const struct wq_sb_about about = { .inode = inode };
	struct wq_sb_obj *obj;

	if (!wq_objtab_watched(&wq_sb_tab))
		return;
	rcu_read_lock();
	obj = wq_sb_find_live(sb);
	if (obj)
		wq_sb_post_obj(obj, subtype, info_flags, error, aux, &about);
	rcu_read_unlock();
}

void wq_sb_post_quota(dev_t dev, const struct kqid *qid, u32 warntype)
{
	const struct wq_sb_about about = { .qid = qid };
	u64 sb_id = huge_encode_dev(dev);
	struct wq_obj *obj;
	unsigned int bkt;

	if (!wq_objtab_watched(&wq_sb_tab))
		return;
	/* Rare events (quota warnings): a walk of the small table will do. */
	rcu_read_lock();
	hash_for_each_rcu(wq_sb_tab.table, bkt, obj, node) {
		if (obj->id == sb_id) {
			wq_sb_post_obj(container_of(obj, struct wq_sb_obj, obj),
				       WQ_SB_EDQUOT, 0, EDQUOT, warntype,
				       &about);
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

	if (!wq_objtab_watched(&wq_sb_tab))
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
	wq_objtab_destroy(&wq_sb_tab, wq_sb_key(sb));
}

/* Only with no object left may the shutdown hook go. */
static void wq_sb_idle(struct wq_objtab *tab)
{
	if (hash_empty(tab->table))
		wq_sb_hooks_disarm();
}

static void wq_sb_obj_init(struct wq_obj *obj)
{
	container_of(obj, struct wq_sb_obj, obj)->enospc_next = jiffies;
}

static int wq_sb_add_watch(struct wq_queue *q, struct super_block *sb,
			   u8 watch_id)
{
	void *sees = NULL;
	int ret;

	/*
	 * The setter's privilege over this filesystem, now, with the
	 * credentials the watch keeps (as fanotify's filesystem marks).
	 * Not audited: without it the watch is still allowed, restricted.
	 */
	if (ns_capable_noaudit(sb->s_user_ns, CAP_SYS_ADMIN))
		sees = WQ_SB_SEES_ALL;
	/* Before the object exists, so that its shutdown cannot be missed. */
	ret = wq_sb_hooks_arm(sb);
	if (ret)
		return ret;
	BUILD_BUG_ON(offsetof(struct wq_sb_obj, obj) != 0);
	return wq_objtab_watch_private(&wq_sb_tab, q, wq_sb_key(sb),
				       wq_sb_id(sb), sizeof(struct wq_sb_obj),
				       wq_sb_obj_init, watch_id, sees);
}

static long wq_sb_watch_ioctl(struct wq_queue *q,
			      const void __user *arg)
{
	struct wq_watch_sb req;
	struct file *file;
	long ret;

	if (copy_from_user(&req, arg, sizeof(req)))
		return -EFAULT;
	if (!wq_watch_req_valid(req.watch_id, req.flags, req.__reserved))
		return -EINVAL;
	if (!wq_sb_hooks_available())
		return -EOPNOTSUPP;
	if (req.fd < 0)
		return -EBADF;
	/*
	 * Having opened a file on the filesystem is the permission to watch
	 * (what the watch shows depends on the setter: wq_sb_add_watch()).
	 * fget() refuses O_PATH descriptors, which need no access to the
	 * file.  The open file pins its mount, so the superblock stays
	 * active.
	 */
	file = fget(req.fd);
	if (!file)
		return -EBADF;

	if (mutex_lock_killable(&wq_sb_mutex)) {
		fput(file);
		return -EINTR;
	}
	if (req.watch_id >= 0)
		ret = wq_sb_add_watch(q, file_inode(file)->i_sb, req.watch_id);
	else
		ret = wq_objtab_remove_watch(&wq_sb_tab,
					     wq_sb_key(file_inode(file)->i_sb),
					     wq_sb_id(file_inode(file)->i_sb), q);
	mutex_unlock(&wq_sb_mutex);
	fput(file);
	return ret;
}

static int wq_sb_init(void)
{
	wq_objtab_init(&wq_sb_tab, &wq_sb_mutex, wq_sb_idle);
	return wq_sb_hooks_init();
}

static void wq_sb_exit(void)
{
	/* No queue is open (they pin the module), so no watch remains. */
	wq_objtab_exit(&wq_sb_tab);
}

static u64 wq_sb_features(void)
{
	return (wq_sb_hooks_available() ? WQ_FEATURE_SB : 0) |
	       (wq_sb_hooks_fs_errors_available() ?
		WQ_FEATURE_SB_FS_ERRORS : 0);
}

const struct wq_source wq_sb_source = {
	.name		= "sb",
	.watch_cmd	= WQ_IOC_WATCH_SB,
	.watch_id_off	= offsetof(struct wq_watch_sb, watch_id),
	.watch		= wq_sb_watch_ioctl,
	.init		= wq_sb_init,
	.exit		= wq_sb_exit,
	.features	= wq_sb_features,
};
