/* SPDX-License-Identifier: GPL-2.0 */
/* Filesystem API differences (see compat/Kbuild.probes for HAVE_FSERROR). */
#ifndef _WQ_COMPAT_FS_H
#define _WQ_COMPAT_FS_H

#include <linux/fs.h>
#include <linux/string.h>

/* 7.0: the generic filesystem error layer */
#ifdef HAVE_FSERROR
#include <linux/fserror.h>
#endif

/* A filesystem of ext4's driver (which also serves ext2 and ext3). */
static inline bool wq_sb_is_ext4(const struct super_block *sb)
{
	return !strncmp(sb->s_type->name, "ext", 3);
}

#endif /* _WQ_COMPAT_FS_H */
