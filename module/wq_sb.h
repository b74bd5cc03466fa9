/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Filesystem (superblock) watches: errors, write-back errors, read-only
 * transitions and space/quota events of one filesystem.
 */
#ifndef _WQ_SB_H
#define _WQ_SB_H

#include <linux/fs.h>
#include <linux/quota.h>
#include "wq_core.h"

/*
 * Called by the hooks; any context, never sleep.  @info_flags are
 * WQ_INFO_TYPE_INFO bits.  Records without error data (WQ_SB_READONLY)
 * ignore @error, @aux and @inode.  @inode is the file the record is about
 * (its inode number is reported, and watchers without privilege over the
 * filesystem get the record only if they own the file), NULL for a
 * filesystem-wide record; it must stay valid during the call.
 */
void wq_sb_post(const struct super_block *sb, u8 subtype, u32 info_flags,
		u32 error, u32 aux, const struct inode *inode);
/*
 * A quota warning (QUOTA_NL_*, posted as WQ_SB_EDQUOT) for @qid on the
 * filesystem with device number @dev: quota warnings name it no other way.
 */
void wq_sb_post_quota(dev_t dev, const struct kqid *qid, u32 warntype);
/* The filesystem shuts down: watchers get removal records. */
void wq_sb_destroyed(const struct super_block *sb);
/*
 * Rate limit for WQ_SB_ENOSPC: true at most once per second per watched
 * filesystem (false for one that is not watched).
 */
bool wq_sb_enospc_due(const struct super_block *sb);

#endif /* _WQ_SB_H */
