/* SPDX-License-Identifier: GPL-2.0 */
/* Filesystem API differences (see compat/Kbuild.probes for HAVE_FSERROR). */
#ifndef _WQ_COMPAT_FS_H
#define _WQ_COMPAT_FS_H

#include <linux/fs.h>
#include <linux/string.h>

/* 7.0: the generic filesystem error layer */
#ifdef HAVE_FSERROR
#include <linux/fserror.h>

/*
 * The fserror_report() kprobe reads its arguments by position (sb, inode,
 * type, pos, len, error, gfp: wq_sb_hooks.c): refuse to build against a
 * kernel whose prototype moved them, rather than read the wrong register.
 */
static_assert(__same_type(&fserror_report,
			  void (*)(struct super_block *, struct inode *,
				   enum fserror_type, loff_t, u64, int,
				   gfp_t)),
	      "fserror_report()'s arguments moved: update fserror_pre()");
#endif

/* A filesystem of ext4's driver (which also serves ext2 and ext3). */
static inline bool wq_sb_is_ext4(const struct super_block *sb)
{
	return !strncmp(sb->s_type->name, "ext", 3);
}

#endif /* _WQ_COMPAT_FS_H */
