/* SPDX-License-Identifier: GPL-2.0 */
/* The misc device /dev/watch_queue: one queue per open file. */
#ifndef _WQ_DEV_H
#define _WQ_DEV_H

#include <linux/fs.h>

/* Also how wq_queue.c tells a queue's file from any other. */
extern const struct file_operations wq_fops;
int wq_dev_init(void);
void wq_dev_exit(void);

#endif /* _WQ_DEV_H */
