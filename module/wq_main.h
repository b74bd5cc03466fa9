/* SPDX-License-Identifier: GPL-2.0 */
/* What the module's init (wq_main.c) sets up for everyone. */
#ifndef _WQ_MAIN_H
#define _WQ_MAIN_H

#include <linux/workqueue.h>

/*
 * Unbound; frees queues and runs deferred source work in process context.
 * Destroyed at unload after the RCU callbacks that queue on it.
 */
extern struct workqueue_struct *wq_workqueue;

#endif /* _WQ_MAIN_H */
