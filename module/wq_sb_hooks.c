// SPDX-License-Identifier: GPL-2.0
/*
 * Filesystem events, where the kernel really has them:
 *
 * - write-back errors: the filemap_set_wb_err tracepoint, which fires in
 *   __filemap_set_wb_err() each time an error is recorded in a file's
 *   errseq_t (mapping_set_error(), from the write-back completion of every
 *   filesystem), synchronously, before the pages' write-back ends;
 * - filesystem errors: from 7.0 the generic fserror layer
 *   (fserror_report(), exported); before, ext4's error functions
 *   (__ext4_error, __ext4_error_inode, __ext4_error_file,
 *   __ext4_std_error, and 5.10's __ext4_abort), which every ext4 error
 *   macro calls;
 * - read-only transitions: reconfigure_super() (remount, emergency
 *   remount), and ext4's "Remounting filesystem read-only" message, the
 *   one point every ext4 version passes when it stops writing after an
 *   error (up to 6.10 it sets SB_RDONLY right after; from 6.11 it only
 *   shuts writes down);
 * - out of space: ext4_should_retry_alloc(), called only after an
 *   allocation failed with ENOSPC; over quota: quota_send_warning(), the
 *   quota code's netlink warning;
 * - the end of a filesystem: generic_shutdown_super().
 *
 * The ext4 targets live in ext4.ko on the stock kernels: they are placed
 * when a watch is added and ext4 is loaded (it must be, for a watched ext4
 * filesystem to exist), and placed again if ext4 was reloaded since.
 * Which targets exist and are armed is in /sys/module/watch_queue/
 * parameters/sb_hooks.  Handlers run with preemption disabled and only
 * read what the probed function was given, then post.
 */
#include <linux/errno.h>
#include <linux/fs.h>
#include <linux/fs_context.h>
#include <linux/kprobes.h>
#include <linux/moduleparam.h>
#include <linux/ptrace.h>
#include <linux/quota.h>
#include <linux/sched.h>
#include <linux/string.h>
#include <linux/tracepoint.h>
#include <linux/version.h>
#include <trace/events/filemap.h>
#include "compat/wq_compat_fs.h"
#include "wq_sb.h"
#include "wq_sb_hooks.h"

#define WQ_SB_MAXACTIVE		16
#define WQ_EXT4_RO_MSG		"Remounting filesystem read-only"

static unsigned long hk_arg(struct pt_regs *regs, unsigned int n)
{
	return regs_get_kernel_argument(regs, n);
}

/* A filesystem's error argument as a positive errno (EUCLEAN if none). */
static u32 wq_errno(long error)
{
	if (error < 0)
		error = -error;
	if (error == 0 || error > MAX_ERRNO)
		error = EUCLEAN;
	return error;
}

/*
 * filemap_set_wb_err(mapping, eseq): errseq_set() returns the value it
 * replaced, so eseq is the old value (no error at all the first time);
 * the errno just recorded is in the low bits of mapping->wb_err.
 */
static void wb_err_probe(void *data, struct address_space *mapping,
			 errseq_t eseq)
{
	struct inode *host = mapping->host;
	u32 error = READ_ONCE(mapping->wb_err) & MAX_ERRNO;

	if (host && error)
		wq_sb_post(host->i_sb, WQ_SB_WRITEBACK_ERROR, 0, error, 0,
			   host);
}

static void wq_sb_check_probe(void)
{
	/* Fails to build if the probe does not match the tracepoint. */
	check_trace_callback_type_filemap_set_wb_err(wb_err_probe);
}

struct wq_reconf_data {
	const struct super_block *sb;
	bool			was_ro;
};

/* reconfigure_super(fc): remember the state before */
static int reconf_entry(struct kretprobe_instance *ri, struct pt_regs *regs)
{
	struct wq_reconf_data *d = (struct wq_reconf_data *)ri->data;
	struct fs_context *fc = (struct fs_context *)hk_arg(regs, 0);

	d->sb = fc->root->d_sb;
	d->was_ro = sb_rdonly(d->sb);
	return 0;
}

static int reconf_ret(struct kretprobe_instance *ri, struct pt_regs *regs)
{
	struct wq_reconf_data *d = (struct wq_reconf_data *)ri->data;
	bool ro = sb_rdonly(d->sb);

	/* The caller still holds the superblock (and s_umount). */
	if (regs_return_value(regs) == 0 && ro != d->was_ro)
		wq_sb_post(d->sb, WQ_SB_READONLY, ro ? WQ_SB_IS_NOW_RO : 0,
			   0, 0, NULL);
	return 0;
}

/* generic_shutdown_super(sb) */
static int shutdown_pre(struct kprobe *kp, struct pt_regs *regs)
{
	wq_sb_destroyed((const struct super_block *)hk_arg(regs, 0));
	return 0;
}

/* quota_send_warning(struct kqid qid, dev_t dev, char warntype) */
static int quota_pre(struct kprobe *kp, struct pt_regs *regs)
{
	unsigned long packed = hk_arg(regs, 0);
	u8 warntype = hk_arg(regs, 2);
	struct kqid qid;

	/* An 8-byte struct passed by value travels in one register. */
	BUILD_BUG_ON(sizeof(qid) != sizeof(packed));
	if (warntype != QUOTA_NL_IHARDWARN && warntype != QUOTA_NL_BHARDWARN &&
	    warntype != QUOTA_NL_ISOFTLONGWARN &&
	    warntype != QUOTA_NL_BSOFTLONGWARN)
		return 0;	/* soft warnings and "below" messages: no EDQUOT */
	memcpy(&qid, &packed, sizeof(qid));
	wq_sb_post_quota((dev_t)hk_arg(regs, 1), &qid, warntype);
	return 0;
}

#ifdef HAVE_FSERROR
/* fserror_report(sb, inode, type, pos, len, error, gfp), 7.0 */
static int fserror_pre(struct kprobe *kp, struct pt_regs *regs)
{
	const struct super_block *sb = (void *)hk_arg(regs, 0);
	const struct inode *inode = (void *)hk_arg(regs, 1);
	unsigned long type = hk_arg(regs, 2);
	int error = hk_arg(regs, 5);

	if (error == -ESHUTDOWN)
		wq_sb_post(sb, WQ_SB_READONLY, WQ_SB_IS_NOW_RO | WQ_SB_EMERGENCY,
			   0, 0, NULL);
	else if (type == FSERR_METADATA || type == FSERR_DATA_LOST)
		wq_sb_post(sb, WQ_SB_ERROR, 0, wq_errno(error), 0, inode);
	/* Buffered writes come as write-back errors; the rest, to callers. */
	return 0;
}
#else
/*
 * ext4's error functions are internal to ext4.ko, so no header can be
 * probed for their prototypes.  5.11 ("ext4: make ext4_abort() use
 * __ext4_error()") inserted force_ro before __ext4_error()'s error
 * argument and removed __ext4_abort(): whether __ext4_abort exists tells
 * the two apart at run time (set when the hooks are armed, before
 * __ext4_error's).
 */
static bool wq_ext4_has_abort;

/* __ext4_error(sb, function, line, [force_ro,] error, block, fmt, ...) */
static int ext4_error_pre(struct kprobe *kp, struct pt_regs *regs)
{
	unsigned int arg = READ_ONCE(wq_ext4_has_abort) ? 3 : 4;

	wq_sb_post((void *)hk_arg(regs, 0), WQ_SB_ERROR, 0,
		   wq_errno((int)hk_arg(regs, arg)), 0, NULL);
	return 0;
}

/* __ext4_error_inode(inode, function, line, block, error, fmt, ...) */
static int ext4_error_inode_pre(struct kprobe *kp, struct pt_regs *regs)
{
	const struct inode *inode = (void *)hk_arg(regs, 0);

	wq_sb_post(inode->i_sb, WQ_SB_ERROR, 0, wq_errno((int)hk_arg(regs, 4)),
		   0, inode);
	return 0;
}

/* __ext4_error_file(file, function, line, block, fmt, ...): corruption */
static int ext4_error_file_pre(struct kprobe *kp, struct pt_regs *regs)
{
	const struct inode *inode = file_inode((struct file *)hk_arg(regs, 0));

	wq_sb_post(inode->i_sb, WQ_SB_ERROR, 0, EUCLEAN, 0, inode);
	return 0;
}

/*
 * __ext4_std_error(sb, function, line, errno), and 5.10's
 * __ext4_abort(sb, function, line, error, fmt, ...).  ext4 ignores an EROFS
 * outside a transaction on a read-only filesystem; so do we.
 */
static int ext4_std_error_pre(struct kprobe *kp, struct pt_regs *regs)
{
	const struct super_block *sb = (void *)hk_arg(regs, 0);
	int error = hk_arg(regs, 3);

	if (error == -EROFS && !current->journal_info && sb_rdonly(sb))
		return 0;
	wq_sb_post(sb, WQ_SB_ERROR, 0, wq_errno(error), 0, NULL);
	return 0;
}
#endif

/* __ext4_msg(sb, prefix, fmt, ...): the emergency read-only point */
static int ext4_msg_pre(struct kprobe *kp, struct pt_regs *regs)
{
	const char *fmt = (const char *)hk_arg(regs, 2);

	/* fmt is a string literal of ext4's; the message is stable ABI-wise. */
	if (fmt && !strcmp(fmt, WQ_EXT4_RO_MSG))
		wq_sb_post((void *)hk_arg(regs, 0), WQ_SB_READONLY,
			   WQ_SB_IS_NOW_RO | WQ_SB_EMERGENCY, 0, 0, NULL);
	return 0;
}

/* ext4_should_retry_alloc(sb, retries): an allocation failed, ENOSPC */
static int ext4_enospc_pre(struct kprobe *kp, struct pt_regs *regs)
{
	const struct super_block *sb = (void *)hk_arg(regs, 0);

	if (wq_sb_enospc_due(sb))
		wq_sb_post(sb, WQ_SB_ENOSPC, 0, ENOSPC, 0, NULL);
	return 0;
}

enum wq_sb_hook_kind {
	WQ_SB_REQUIRED,		/* no filesystem watch without it */
	WQ_SB_OPTIONAL,		/* in the core kernel, if configured */
	WQ_SB_EXT4,		/* in ext4.ko: placed when ext4 is loaded */
};

struct wq_sb_hook {
	const char		*name;
	enum wq_sb_hook_kind	kind;
	bool			fs_error;	/* a WQ_SB_ERROR source */
	kprobe_pre_handler_t	pre;		/* a plain kprobe's handler */
	kretprobe_handler_t	entry, ret;	/* or a return probe's */
	bool			found;		/* exists (so far) */
	bool			armed;
	union {
		struct kprobe		kp;
		struct kretprobe	rp;
	};
};

static struct wq_sb_hook wq_sb_hooks[] = {
	{ .name = "generic_shutdown_super", .kind = WQ_SB_REQUIRED,
	  .pre = shutdown_pre },
	{ .name = "reconfigure_super", .kind = WQ_SB_REQUIRED,
	  .entry = reconf_entry, .ret = reconf_ret },
	{ .name = "quota_send_warning", .kind = WQ_SB_OPTIONAL,
	  .pre = quota_pre },
#ifdef HAVE_FSERROR
	{ .name = "fserror_report", .kind = WQ_SB_OPTIONAL, .fs_error = true,
	  .pre = fserror_pre },
#else
	/* First: its presence decides __ext4_error's layout. */
	{ .name = "__ext4_abort", .kind = WQ_SB_EXT4, .fs_error = true,
	  .pre = ext4_std_error_pre },
	{ .name = "__ext4_error", .kind = WQ_SB_EXT4, .fs_error = true,
	  .pre = ext4_error_pre },
	{ .name = "__ext4_error_inode", .kind = WQ_SB_EXT4, .fs_error = true,
	  .pre = ext4_error_inode_pre },
	{ .name = "__ext4_error_file", .kind = WQ_SB_EXT4, .fs_error = true,
	  .pre = ext4_error_file_pre },
	{ .name = "__ext4_std_error", .kind = WQ_SB_EXT4, .fs_error = true,
	  .pre = ext4_std_error_pre },
#endif
	{ .name = "__ext4_msg", .kind = WQ_SB_EXT4, .pre = ext4_msg_pre },
	{ .name = "ext4_should_retry_alloc", .kind = WQ_SB_EXT4,
	  .pre = ext4_enospc_pre },
};

static struct tracepoint *wq_wb_err_tp;
static bool wq_wb_err_armed;

static struct kprobe *hook_kp(struct wq_sb_hook *h)
{
	return h->ret ? &h->rp.kp : &h->kp;
}

static int wq_sb_hook_register(struct wq_sb_hook *h)
{
	/* A kprobe may be registered again only from a clean structure. */
	if (!h->ret) {
		memset(&h->kp, 0, sizeof(h->kp));
		h->kp.symbol_name = h->name;
		h->kp.pre_handler = h->pre;
		return register_kprobe(&h->kp);
	}
	memset(&h->rp, 0, sizeof(h->rp));
	h->rp.kp.symbol_name = h->name;
	h->rp.entry_handler = h->entry;
	h->rp.handler = h->ret;
	h->rp.data_size = sizeof(struct wq_reconf_data);
	h->rp.maxactive = WQ_SB_MAXACTIVE;
	return register_kretprobe(&h->rp);
}

static void wq_sb_hook_unregister(struct wq_sb_hook *h)
{
	if (h->ret)
		unregister_kretprobe(&h->rp);
	else
		unregister_kprobe(&h->kp);
	h->armed = false;
}

/* Place @h if it is not in place; false if its target does not exist. */
static int wq_sb_hook_arm(struct wq_sb_hook *h)
{
	int ret;

	/* ext4 was unloaded since: the probe is dead, place it again. */
	if (h->armed && kprobe_gone(hook_kp(h)))
		wq_sb_hook_unregister(h);
	if (h->armed)
		return 0;
	ret = wq_sb_hook_register(h);
	if (ret)
		return ret;
	h->found = true;
	h->armed = true;
	return 0;
}

static void wq_sb_find_tp(struct tracepoint *tp, void *priv)
{
	if (!strcmp(tp->name, "filemap_set_wb_err"))
		wq_wb_err_tp = tp;
}

int wq_sb_hooks_init(void)
{
	struct wq_sb_hook *h;

	wq_sb_check_probe();
	for_each_kernel_tracepoint(wq_sb_find_tp, NULL);
	if (!wq_wb_err_tp)
		pr_warn("tracepoint filemap_set_wb_err not found: filesystem watches disabled\n");
	/* Check that the core targets exist; ext4's are checked when used. */
	for (h = wq_sb_hooks; h < wq_sb_hooks + ARRAY_SIZE(wq_sb_hooks); h++) {
		if (h->kind == WQ_SB_EXT4)
			continue;
		if (wq_sb_hook_arm(h) == 0)
			wq_sb_hook_unregister(h);
		else if (h->kind == WQ_SB_REQUIRED)
			pr_warn("filesystem hook %s unavailable: filesystem watches disabled\n",
				h->name);
		else
			pr_info("filesystem hook %s unavailable\n", h->name);
	}
	return 0;
}

bool wq_sb_hooks_available(void)
{
	unsigned int i;

	if (!wq_wb_err_tp)
		return false;
	for (i = 0; i < ARRAY_SIZE(wq_sb_hooks); i++)
		if (wq_sb_hooks[i].kind == WQ_SB_REQUIRED &&
		    !wq_sb_hooks[i].found)
			return false;
	return true;
}

static DEFINE_MUTEX(wq_sb_probe_mutex);

bool wq_sb_hooks_fs_errors_available(void)
{
	struct wq_sb_hook *h;
	bool found = false;

	mutex_lock(&wq_sb_probe_mutex);
	for (h = wq_sb_hooks; h < wq_sb_hooks + ARRAY_SIZE(wq_sb_hooks); h++)
		found |= h->fs_error && h->found;
	/* None seen yet (ext4 not loaded when last asked): try now. */
	for (h = wq_sb_hooks; !found && h < wq_sb_hooks + ARRAY_SIZE(wq_sb_hooks);
	     h++) {
		if (!h->fs_error || h->armed || wq_sb_hook_register(h))
			continue;
		wq_sb_hook_unregister(h);
		h->found = found = true;
	}
	mutex_unlock(&wq_sb_probe_mutex);
	return found;
}

void wq_sb_hooks_disarm(void)
{
	struct kretprobe *rps[ARRAY_SIZE(wq_sb_hooks)];
	struct kprobe *kps[ARRAY_SIZE(wq_sb_hooks)];
	unsigned int i, nr_rps = 0, nr_kps = 0;

	mutex_lock(&wq_sb_probe_mutex);
	if (wq_wb_err_armed) {
		tracepoint_probe_unregister(wq_wb_err_tp, wb_err_probe, NULL);
		wq_wb_err_armed = false;
	}
	/* In two batches: one RCU grace period each, not one per probe. */
	for (i = 0; i < ARRAY_SIZE(wq_sb_hooks); i++) {
		if (!wq_sb_hooks[i].armed)
			continue;
		if (wq_sb_hooks[i].ret)
			rps[nr_rps++] = &wq_sb_hooks[i].rp;
		else
			kps[nr_kps++] = &wq_sb_hooks[i].kp;
		wq_sb_hooks[i].armed = false;
	}
	if (nr_rps)
		unregister_kretprobes(rps, nr_rps);
	if (nr_kps)
		unregister_kprobes(kps, nr_kps);
	/* No tracepoint probe may still be running once we return. */
	tracepoint_synchronize_unregister();
	mutex_unlock(&wq_sb_probe_mutex);
}

int wq_sb_hooks_arm(const struct super_block *sb)
{
	struct wq_sb_hook *h;
	int ret = 0;

	if (!wq_sb_hooks_available())
		return -EOPNOTSUPP;
	mutex_lock(&wq_sb_probe_mutex);
	for (h = wq_sb_hooks; h < wq_sb_hooks + ARRAY_SIZE(wq_sb_hooks); h++) {
		if (h->kind == WQ_SB_OPTIONAL && !h->found)
			continue;
		ret = wq_sb_hook_arm(h);
#ifndef HAVE_FSERROR
		if (!strcmp(h->name, "__ext4_abort"))
			WRITE_ONCE(wq_ext4_has_abort, h->armed);
#endif
		if (ret && h->kind == WQ_SB_REQUIRED) {
			pr_warn("cannot arm filesystem hook %s: %d\n", h->name,
				ret);
			break;
		}
		/*
		 * ext4's targets are missing while ext4 is not loaded, and
		 * __ext4_abort always from 5.11.
		 */
		if (ret && h->kind == WQ_SB_EXT4 && wq_sb_is_ext4(sb) &&
		    strcmp(h->name, "__ext4_abort"))
			pr_warn_ratelimited("cannot arm ext4 hook %s: %d\n",
					    h->name, ret);
		ret = 0;
	}
	if (!ret && !wq_wb_err_armed) {
		ret = tracepoint_probe_register(wq_wb_err_tp, wb_err_probe,
						NULL);
		if (ret)
			pr_warn("cannot arm filemap_set_wb_err: %d\n", ret);
		wq_wb_err_armed = !ret;
	}
	mutex_unlock(&wq_sb_probe_mutex);
	if (ret)
		wq_sb_hooks_disarm();
	return ret;
}

/* sb_hooks (read-only): each target, "+" armed, "!" missing so far */
static int wq_sb_hooks_show(char *buf, const struct kernel_param *kp)
{
	const struct wq_sb_hook *h;
	int n;

	n = scnprintf(buf, PAGE_SIZE, "%sfilemap_set_wb_err",
		      !wq_wb_err_tp ? "!" : wq_wb_err_armed ? "+" : "");
	for (h = wq_sb_hooks; h < wq_sb_hooks + ARRAY_SIZE(wq_sb_hooks); h++)
		n += scnprintf(buf + n, PAGE_SIZE - n, " %s%s",
			       h->armed ? "+" : h->found ? "" : "!", h->name);
	n += scnprintf(buf + n, PAGE_SIZE - n, "\n");
	return n;
}

static const struct kernel_param_ops wq_sb_hooks_ops = {
	.get = wq_sb_hooks_show,
};
module_param_cb(sb_hooks, &wq_sb_hooks_ops, NULL, 0444);
MODULE_PARM_DESC(sb_hooks, "Filesystem hook targets: + armed, ! not found (ext4's: not yet)");
