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
#include "wq_hooks.h"
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
 * argument and removed __ext4_abort(): whether the __ext4_abort hook is
 * placed tells the two apart at run time (it comes before __ext4_error's
 * in the table, which is armed in order).
 */
static bool wq_ext4_has_abort(void);

/* __ext4_error(sb, function, line, [force_ro,] error, block, fmt, ...) */
static int ext4_error_pre(struct kprobe *kp, struct pt_regs *regs)
{
	unsigned int arg = wq_ext4_has_abort() ? 3 : 4;

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

/* Tags: the filesystem error hooks (wq_sb_hooks_fs_errors_available()) */
#define WQ_SB_FS_ERROR		BIT(0)

#define SB_KP(n, need_, handler, tag)					\
	{ .names = { n }, .kind = WQ_HOOK_KPROBE, .need = need_,	\
	  .pre = handler, .tags = tag }

enum {
	WQ_SBH_WB_ERR, WQ_SBH_SHUTDOWN, WQ_SBH_RECONF, WQ_SBH_QUOTA,
#ifdef HAVE_FSERROR
	WQ_SBH_FSERROR,
#else
	WQ_SBH_EXT4_ABORT, WQ_SBH_EXT4_ERROR, WQ_SBH_EXT4_ERROR_INODE,
	WQ_SBH_EXT4_ERROR_FILE, WQ_SBH_EXT4_STD_ERROR,
#endif
	WQ_SBH_EXT4_MSG, WQ_SBH_EXT4_ENOSPC, WQ_SBH_NR
};

/*
 * Required: no filesystem watch without them; optional: in the core
 * kernel, if configured; in-module: in ext4.ko, placed when ext4 is loaded.
 */
static struct wq_hook wq_sb_hooks[WQ_SBH_NR] = {
	[WQ_SBH_WB_ERR] = { .names = { "filemap_set_wb_err" },
			    .kind = WQ_HOOK_TRACEPOINT,
			    .tp_probe = wb_err_probe },
	[WQ_SBH_SHUTDOWN] = SB_KP("generic_shutdown_super", WQ_HOOK_REQUIRED,
				  shutdown_pre, 0),
	[WQ_SBH_RECONF] = { .names = { "reconfigure_super" },
			    .kind = WQ_HOOK_KRETPROBE, .entry = reconf_entry,
			    .ret = reconf_ret,
			    .data_size = sizeof(struct wq_reconf_data),
			    .maxactive = WQ_SB_MAXACTIVE },
	[WQ_SBH_QUOTA] = SB_KP("quota_send_warning", WQ_HOOK_OPTIONAL,
			       quota_pre, 0),
#ifdef HAVE_FSERROR
	[WQ_SBH_FSERROR] = SB_KP("fserror_report", WQ_HOOK_OPTIONAL,
				 fserror_pre, WQ_SB_FS_ERROR),
#else
	/* Before __ext4_error: its presence decides that one's layout. */
	[WQ_SBH_EXT4_ABORT] = { .names = { "__ext4_abort" },
				.kind = WQ_HOOK_KPROBE,
				.need = WQ_HOOK_IN_MODULE,
				.flags = WQ_HOOK_MAY_BE_MISSING,
				.pre = ext4_std_error_pre,
				.tags = WQ_SB_FS_ERROR },
	[WQ_SBH_EXT4_ERROR] = SB_KP("__ext4_error", WQ_HOOK_IN_MODULE,
				    ext4_error_pre, WQ_SB_FS_ERROR),
	[WQ_SBH_EXT4_ERROR_INODE] = SB_KP("__ext4_error_inode",
					  WQ_HOOK_IN_MODULE,
					  ext4_error_inode_pre,
					  WQ_SB_FS_ERROR),
	[WQ_SBH_EXT4_ERROR_FILE] = SB_KP("__ext4_error_file",
					 WQ_HOOK_IN_MODULE,
					 ext4_error_file_pre, WQ_SB_FS_ERROR),
	[WQ_SBH_EXT4_STD_ERROR] = SB_KP("__ext4_std_error", WQ_HOOK_IN_MODULE,
					ext4_std_error_pre, WQ_SB_FS_ERROR),
#endif
	[WQ_SBH_EXT4_MSG] = SB_KP("__ext4_msg", WQ_HOOK_IN_MODULE,
				  ext4_msg_pre, 0),
	[WQ_SBH_EXT4_ENOSPC] = SB_KP("ext4_should_retry_alloc",
				     WQ_HOOK_IN_MODULE, ext4_enospc_pre, 0),
};

static struct wq_hook_set wq_sb_hook_set = {
	WQ_HOOK_SET(wq_sb_hook_set, "sb", "filesystem watches", wq_sb_hooks),
};

#ifndef HAVE_FSERROR
/* The armed flags stay set until the probes are gone (wq_hooks.c). */
static bool wq_ext4_has_abort(void)
{
	return wq_hook_armed(&wq_sb_hooks[WQ_SBH_EXT4_ABORT]);
}
#endif

int wq_sb_hooks_init(void)
{
	wq_sb_check_probe();
	wq_hooks_init(&wq_sb_hook_set);
	return 0;
}

bool wq_sb_hooks_available(void)
{
	return wq_hooks_available(&wq_sb_hook_set);
}

bool wq_sb_hooks_fs_errors_available(void)
{
	return wq_hooks_found(&wq_sb_hook_set, WQ_SB_FS_ERROR);
}

void wq_sb_hooks_disarm(void)
{
	wq_hooks_disarm(&wq_sb_hook_set);
}

/* ext4's targets are missing while ext4 is not loaded: warn if it is. */
int wq_sb_hooks_arm(const struct super_block *sb)
{
	return wq_hooks_arm(&wq_sb_hook_set,
			    wq_sb_is_ext4(sb) ? WQ_HOOKS_ARM_WARN_MODULE : 0);
}

/* sb_hooks (read-only): the sb line of "hooks", kept as the README has it */
module_param_cb(sb_hooks, &wq_hooks_set_param_ops, &wq_sb_hook_set, 0444);
MODULE_PARM_DESC(sb_hooks, "Filesystem hook targets (as in hooks): + armed, ! not found (ext4's: not yet)");
