// SPDX-License-Identifier: GPL-2.0
/*
 * watch_queue: Linux's general notification queue as a module, for kernels
 * built without CONFIG_WATCH_QUEUE.
 */
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/rcupdate.h>
#include <linux/workqueue.h>
#include "wq_dev.h"
#include "wq_hooks.h"
#include "wq_main.h"
#include "wq_queue.h"
#include "wq_source.h"
#include "wq_user.h"

/* Frees queues in process context after an RCU grace period. */
struct workqueue_struct *wq_workqueue;

static int __init wq_init(void)
{
	int ret;

	/*
	 * Unbound: freeing a queue has no reason to stay on the CPU that
	 * queued it, and 7.x warns about a workqueue that says neither
	 * WQ_UNBOUND nor WQ_PERCPU (which older kernels lack).
	 */
	wq_workqueue = alloc_workqueue("watch_queue", WQ_UNBOUND, 0);
	if (!wq_workqueue)
		return -ENOMEM;
	ret = wq_sources_init();
	if (ret)
		goto err_sources;
	ret = wq_dev_init();
	if (ret)
		goto err_dev;
	return 0;

err_dev:
	wq_sources_exit();
err_sources:
	destroy_workqueue(wq_workqueue);
	return ret;
}

static void __exit wq_exit(void)
{
	wq_dev_exit();
	wq_sources_exit();
	/*
	 * A closed queue is freed by an RCU callback of its last watch that
	 * queues an rcu_work, whose own callback queues the work: wait for
	 * both generations of callbacks, then for the work.
	 */
	rcu_barrier();
	rcu_barrier();
	destroy_workqueue(wq_workqueue);
	wq_hooks_exit();
	wq_user_exit();
}

module_init(wq_init);
module_exit(wq_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("General notification queue device /dev/watch_queue");
MODULE_VERSION(WQ_VERSION);
