/* SPDX-License-Identifier: GPL-2.0 */
/* Where filesystem events are seen: a tracepoint and kprobes. */
#ifndef _WQ_SB_HOOKS_H
#define _WQ_SB_HOOKS_H

#include <linux/fs.h>

/* At load: find the tracepoint and check the kprobe targets. */
int wq_sb_hooks_init(void);
/* True if the hooks every filesystem watch needs exist. */
bool wq_sb_hooks_available(void);
/* True if filesystem error hooks exist (may probe for ext4 once). */
bool wq_sb_hooks_fs_errors_available(void);
/*
 * Arm the hooks a watch of @sb needs (the required ones, plus whatever
 * optional ones can be placed now, such as ext4's once ext4 is loaded);
 * caller serialises arm and disarm.
 */
int wq_sb_hooks_arm(const struct super_block *sb);
/* Waits until no handler runs any more. */
void wq_sb_hooks_disarm(void);

#endif /* _WQ_SB_HOOKS_H */
