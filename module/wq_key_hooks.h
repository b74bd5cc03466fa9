/* SPDX-License-Identifier: GPL-2.0 */
/* The kprobes behind key notifications, armed only while keys are watched. */
#ifndef _WQ_KEY_HOOKS_H
#define _WQ_KEY_HOOKS_H

#include <linux/types.h>

/* At load: find which probe targets exist on this kernel. */
int wq_key_hooks_init(void);
bool wq_key_hooks_available(void);
/* Caller serialises arm and disarm; arm is a no-op when already armed. */
int wq_key_hooks_arm(void);
void wq_key_hooks_disarm(void);
bool wq_key_hooks_armed(void);

#endif /* _WQ_KEY_HOOKS_H */
