/* SPDX-License-Identifier: GPL-2.0 */
/* Block errors, from the block_rq_error tracepoint. */
#ifndef _WQ_BLOCK_H
#define _WQ_BLOCK_H

#include <linux/types.h>

/* At load: find the tracepoint. */
int wq_block_init(void);
/* True if block errors can be seen on this kernel. */
bool wq_block_available(void);
/* Caller serialises arm and disarm; arm is a no-op when already armed. */
int wq_block_arm(void);
/* Waits until no probe runs any more. */
void wq_block_disarm(void);

/*
 * The disk lifetime hooks (see wq_block.c), which calls
 * wq_devices_disk_gone(): available if the block source is and the
 * required targets exist; armed while any disk is watched.
 */
bool wq_block_disk_hooks_available(void);
int wq_block_disk_hooks_arm(void);
/* Waits until no handler runs any more. */
void wq_block_disk_hooks_disarm(void);

#endif /* _WQ_BLOCK_H */
