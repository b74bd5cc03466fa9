/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Filesystem (superblock) watches: errors, write-back errors, read-only
 * transitions and space/quota events of one filesystem.
 */
#ifndef _WQ_SB_H
#define _WQ_SB_H

#include <linux/fs.h>
#include "wq_core.h"

/* WQ_IOC_WATCH_SB */
long wq_sb_watch_ioctl(struct wq_queue *q, const void __user *arg);
/* True if filesystem watches can be added on this kernel. */
bool wq_sb_available(void);
/* True if filesystem errors (WQ_SB_ERROR) can be seen now. */
bool wq_sb_fs_errors_available(void);
int wq_sb_init(void);
void wq_sb_exit(void);

/*
 * Called by the hooks; any context, never sleep.  @info_flags are
 * WQ_INFO_TYPE_INFO bits.  Records without error data (WQ_SB_READONLY)
 * ignore @error, @aux and @ino.
 */
void wq_sb_post(const struct super_block *sb, u8 subtype, u32 info_flags,
		u32 error, u32 aux, u64 ino);
/* Quota warnings name the filesystem by device number only. */
void wq_sb_post_dev(dev_t dev, u8 subtype, u32 error, u32 aux, u64 ino);
/* The filesystem shuts down: watchers get removal records. */
void wq_sb_destroyed(const struct super_block *sb);
/*
 * Rate limit for WQ_SB_ENOSPC: true at most once per second per watched
 * filesystem (false for one that is not watched).
 */
bool wq_sb_enospc_due(const struct super_block *sb);

#endif /* _WQ_SB_H */
