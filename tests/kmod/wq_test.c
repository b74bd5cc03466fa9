// SPDX-License-Identifier: GPL-2.0
/*
 * wq_test.ko: a test-only producer of synthetic records for watch_queue.ko.
 *
 * /dev/wq_test (root only) owns WQT_NR_OBJECTS watchable objects.  Queues
 * watch them through WQT_IOC_WATCH, WQT_IOC_POST posts numbered records to
 * an object from process, softirq or hardirq context, and WQT_IOC_KILL ends
 * every watch of an object as the death of a real object would.  The ABI is
 * described in wq_test_uapi.h.
 *
 * Each WQT_IOC_POST request has its own state (struct wqt_run), so requests
 * from several tasks may run concurrently; the only shared state is the
 * watch lists, which the core locks.
 *
 * Softirq: a TIMER_PINNED timer armed with add_timer_on() posts a batch per
 * firing and re-arms itself with mod_timer() (a pinned timer stays on the
 * CPU it runs on) until the request is complete or cancelled.
 *
 * Hardirq: irq_work_queue_on() is not exported to modules, so the ioctl's
 * task asks the target CPU, through smp_call_function_single(), to queue
 * the request's irq_work locally; a local irq_work raises a self-interrupt
 * and runs in hard interrupt context.  The task then waits for the run with
 * irq_work_sync() before raising the next one, so a run never re-queues
 * itself and cannot livelock the CPU.
 */
#include <linux/module.h>
#include <linux/kernel.h>
#include <linux/miscdevice.h>
#include <linux/fs.h>
#include <linux/uaccess.h>
#include <linux/slab.h>
#include <linux/sched.h>
#include <linux/sched/signal.h>
#include <linux/smp.h>
#include <linux/cpu.h>
#include <linux/cpumask.h>
#include <linux/preempt.h>
#include <linux/timer.h>
#include <linux/jiffies.h>
#include <linux/hrtimer.h>
#include <linux/ktime.h>
#include <linux/irq_work.h>
#include <linux/wait.h>
#include <linux/err.h>

#include "wq_core.h"
#include "wq_test_uapi.h"

/*
 * in_hardirq() was added in 5.11 ("sched: Add new in_*() macros"); older
 * kernels call the same test in_irq().
 */
#ifndef in_hardirq
#define in_hardirq()	in_irq()
#endif

/*
 * timer_delete_sync() replaced del_timer_sync() in 6.2 (and in stable trees
 * such as 6.1.84); del_timer_sync() was removed in 6.15.  The Kbuild probe
 * defines WQT_HAVE_TIMER_DELETE_SYNC when <linux/timer.h> declares it.
 */
/*
 * IRQ_WORK_INIT_HARD() came with 5.11's irq_work initializers ("irq_work:
 * Cleanup"); before, irq_work ran in hard interrupt context anyway unless
 * PREEMPT_RT, which the stock kernels are not.
 */
#ifndef IRQ_WORK_INIT_HARD
#define IRQ_WORK_INIT_HARD(fn)	((struct irq_work){ .func = (fn) })
#endif

#ifndef WQT_HAVE_TIMER_DELETE_SYNC
#define timer_delete_sync(timer)	del_timer_sync(timer)
#endif

/* Process context: reschedule and check for a fatal signal this often */
#define WQT_RESCHED_RECORDS	64

static struct wq_watch_list wqt_objects[WQT_NR_OBJECTS];

static u64 wqt_object_id(u32 object)
{
	return (u64)object + 1;
}

/* State of one WQT_IOC_POST request */
struct wqt_run {
	struct wq_watch_list	*wlist;
	u64			id;		/* object id */
	u64			count;		/* records to post */
	u64			posted;
	u64			in_context;
	u64			chunk;		/* records for the next irq_work run */
	u64			interval_ns;
	unsigned long		delay;		/* jiffies between timer firings */
	u32			seq;		/* of the next record */
	u32			size;
	u32			batch;
	u32			context;
	u16			producer;
	u8			subtype;
	int			cpu;
	bool			stop;		/* timer: do not re-arm */
	bool			done;		/* timer: all records posted */
	wait_queue_head_t	wait;
	struct timer_list	timer;
	struct irq_work		work;
};

union wqt_buf {
	struct wq_notification	n;
	struct wqt_record	r;
	u8			b[WQT_RECORD_MAX];
	u64			align;
};

static bool wqt_in_context(u32 context)
{
	switch (context) {
	case WQT_CTX_SOFTIRQ:
		return in_serving_softirq();
	case WQT_CTX_HARDIRQ:
		return in_hardirq();
	default:
		return !in_interrupt();
	}
}

/* Post @n records of @run; runs in the requested context */
static void wqt_post_records(struct wqt_run *run, u64 n)
{
	union wqt_buf buf;
	u32 i;

	for (; n; n--) {
		u32 seq = run->seq;

		buf.n.type = WQT_TYPE;
		buf.n.subtype = run->subtype;
		buf.n.info = run->size;
		buf.r.producer = run->producer;
		buf.r.check = wqt_check(run->producer, seq, run->size);
		buf.r.seq = seq;
		for (i = sizeof(buf.r); i < run->size; i++)
			buf.b[i] = wqt_fill(seq, i);

		wq_post(run->wlist, &buf.n, run->id);

		run->seq = seq + 1;
		run->posted++;
		if (wqt_in_context(run->context))
			run->in_context++;
	}
}

static u64 wqt_next_batch(const struct wqt_run *run)
{
	return min_t(u64, run->batch, run->count - run->posted);
}

/* Sleep @ns in @state; -EINTR if a signal that @state admits is pending */
static int wqt_sleep(u64 ns, unsigned int state)
{
	ktime_t expires = ns_to_ktime(ns);

	set_current_state(state);
	schedule_hrtimeout(&expires, HRTIMER_MODE_REL);
	return signal_pending_state(state, current) ? -EINTR : 0;
}

static int wqt_run_process(struct wqt_run *run)
{
	/* Without an interval, batches make no difference: post back to back */
	u64 batch = run->interval_ns ? run->batch : run->count;
	u64 in_batch = 0, n;
	int ret;

	while (run->posted < run->count) {
		n = min_t(u64, batch - in_batch, run->count - run->posted);
		n = min_t(u64, n, WQT_RESCHED_RECORDS);
		wqt_post_records(run, n);
		if (fatal_signal_pending(current))
			return -EINTR;

		in_batch += n;
		if (in_batch < batch || run->posted == run->count) {
			cond_resched();
			continue;
		}
		in_batch = 0;
		ret = wqt_sleep(run->interval_ns, TASK_KILLABLE);
		if (ret)
			return ret;
	}
	return 0;
}

static void wqt_timer_fn(struct timer_list *timer)
{
	struct wqt_run *run = container_of(timer, struct wqt_run, timer);

	wqt_post_records(run, wqt_next_batch(run));
	if (run->posted >= run->count) {
		/* Pairs with the acquire in wqt_run_softirq() */
		smp_store_release(&run->done, true);
		wake_up(&run->wait);
	} else if (!READ_ONCE(run->stop)) {
		mod_timer(&run->timer, jiffies + run->delay);
	}
}

static int wqt_run_softirq(struct wqt_run *run)
{
	int ret = 0;

	if (run->interval_ns)
		run->delay = max(1UL, nsecs_to_jiffies(run->interval_ns));
	else
		run->delay = 1;

	init_waitqueue_head(&run->wait);
	timer_setup(&run->timer, wqt_timer_fn, TIMER_PINNED);
	run->timer.expires = jiffies;

	cpus_read_lock();
	if (cpu_online(run->cpu))
		add_timer_on(&run->timer, run->cpu);
	else
		ret = -EINVAL;
	cpus_read_unlock();
	if (ret)
		return ret;

	/* Pairs with the release in wqt_timer_fn() */
	ret = wait_event_interruptible(run->wait, smp_load_acquire(&run->done));
	if (ret) {
		WRITE_ONCE(run->stop, true);
		ret = -EINTR;
	}
	/*
	 * Always: on completion the callback may still be running (it wakes
	 * us before returning); on cancellation it may have re-armed itself
	 * before it saw @stop.  Either way nothing runs or is pending after
	 * this, and @posted is final.
	 */
	timer_delete_sync(&run->timer);
	return ret;
}

static void wqt_irq_work_fn(struct irq_work *work)
{
	struct wqt_run *run = container_of(work, struct wqt_run, work);

	wqt_post_records(run, run->chunk);
}

/* Runs on the target CPU (IPI, or locally with interrupts off) */
static void wqt_raise_irq_work(void *info)
{
	struct wqt_run *run = info;

	irq_work_queue(&run->work);
}

static int wqt_run_hardirq(struct wqt_run *run)
{
	int ret;

	/* HARD: run in hard interrupt context even on PREEMPT_RT */
	run->work = IRQ_WORK_INIT_HARD(wqt_irq_work_fn);

	while (run->posted < run->count) {
		if (signal_pending(current))
			return -EINTR;

		run->chunk = wqt_next_batch(run);
		/* -ENXIO if the CPU went offline; nothing was queued then */
		ret = smp_call_function_single(run->cpu, wqt_raise_irq_work,
					       run, 1);
		if (ret)
			return ret;
		/*
		 * A CPU going offline runs its pending irq_work before it
		 * dies, so this always ends.
		 */
		irq_work_sync(&run->work);
		/* See the run's @posted/@seq after its BUSY bit cleared */
		smp_rmb();

		if (run->interval_ns && run->posted < run->count) {
			ret = wqt_sleep(run->interval_ns, TASK_INTERRUPTIBLE);
			if (ret)
				return ret;
		} else {
			cond_resched();
		}
	}
	return 0;
}

static int wqt_check_post(const struct wqt_post *req)
{
	if (req->object >= WQT_NR_OBJECTS || req->__reserved)
		return -EINVAL;
	if (req->context != WQT_CTX_PROCESS &&
	    req->context != WQT_CTX_SOFTIRQ &&
	    req->context != WQT_CTX_HARDIRQ)
		return -EINVAL;
	if (req->cpu != -1 &&
	    (req->cpu < 0 || req->cpu >= nr_cpu_ids || !cpu_online(req->cpu)))
		return -EINVAL;
	if (req->producer > U16_MAX || req->subtype > U8_MAX || !req->count)
		return -EINVAL;
	if (req->size < WQT_RECORD_MIN || req->size > WQT_RECORD_MAX ||
	    req->size % WQ_RECORD_ALIGN)
		return -EINVAL;
	if (req->batch > WQT_MAX_BATCH ||
	    req->interval_ns > WQT_MAX_INTERVAL_NS)
		return -EINVAL;
	return 0;
}

static long wqt_ioc_post(struct wqt_post __user *uarg)
{
	struct wqt_post req;
	struct wqt_run *run;
	long ret;

	if (copy_from_user(&req, uarg, sizeof(req)))
		return -EFAULT;
	ret = wqt_check_post(&req);
	if (ret)
		return ret;

	run = kzalloc(sizeof(*run), GFP_KERNEL);
	if (!run)
		return -ENOMEM;
	run->wlist = &wqt_objects[req.object];
	run->id = wqt_object_id(req.object);
	run->count = req.count;
	run->interval_ns = req.interval_ns;
	run->seq = (u32)req.first_seq;
	run->size = req.size;
	run->batch = req.batch ? req.batch : 1;
	run->context = req.context;
	run->producer = req.producer;
	run->subtype = req.subtype;
	/* -1: the CPU we start on; a later migration of this task is fine */
	run->cpu = req.cpu == -1 ? raw_smp_processor_id() : req.cpu;

	switch (req.context) {
	case WQT_CTX_SOFTIRQ:
		ret = wqt_run_softirq(run);
		break;
	case WQT_CTX_HARDIRQ:
		ret = wqt_run_hardirq(run);
		break;
	default:
		ret = wqt_run_process(run);
		break;
	}

	if (put_user(run->posted, &uarg->posted) ||
	    put_user(run->in_context, &uarg->in_context))
		ret = -EFAULT;
	kfree(run);
	return ret;
}

static long wqt_ioc_watch(const struct wqt_watch __user *uarg)
{
	struct wq_watch_list *wlist;
	struct wqt_watch req;
	struct wq_watch *watch;
	struct wq_queue *q;
	u64 id;
	long ret;

	if (copy_from_user(&req, uarg, sizeof(req)))
		return -EFAULT;
	if (req.object >= WQT_NR_OBJECTS || req.__reserved ||
	    req.watch_id < -1 || req.watch_id > U8_MAX)
		return -EINVAL;
	wlist = &wqt_objects[req.object];
	id = wqt_object_id(req.object);

	q = wq_queue_get(req.fd);
	if (IS_ERR(q))
		return PTR_ERR(q);

	if (req.watch_id < 0) {
		ret = wq_remove_watch(wlist, q, id);
	} else {
		watch = wq_watch_alloc(q, id, req.watch_id);
		if (IS_ERR(watch)) {
			ret = PTR_ERR(watch);
		} else {
			ret = wq_add_watch(wlist, watch);
			if (ret)
				wq_watch_free(watch);
		}
	}
	wq_queue_put(q);
	return ret;
}

static long wqt_ioc_kill(const u32 __user *uarg)
{
	u32 object;

	if (get_user(object, uarg))
		return -EFAULT;
	if (object >= WQT_NR_OBJECTS)
		return -EINVAL;
	wq_remove_watch_list(&wqt_objects[object], wqt_object_id(object));
	return 0;
}

static long wqt_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	void __user *uarg = (void __user *)arg;

	switch (cmd) {
	case WQT_IOC_WATCH:
		return wqt_ioc_watch(uarg);
	case WQT_IOC_KILL:
		return wqt_ioc_kill(uarg);
	case WQT_IOC_POST:
		return wqt_ioc_post(uarg);
	default:
		return -ENOTTY;
	}
}

static const struct file_operations wqt_fops = {
	.owner		= THIS_MODULE,
	.open		= nonseekable_open,
	.unlocked_ioctl	= wqt_ioctl,
	.compat_ioctl	= compat_ptr_ioctl,
};

static struct miscdevice wqt_misc = {
	.minor	= MISC_DYNAMIC_MINOR,
	.name	= "wq_test",
	.fops	= &wqt_fops,
	.mode	= 0600,
};

static int __init wqt_init(void)
{
	int i;

	for (i = 0; i < WQT_NR_OBJECTS; i++)
		wq_init_watch_list(&wqt_objects[i], NULL);
	return misc_register(&wqt_misc);
}

static void __exit wqt_exit(void)
{
	int i;

	/*
	 * An open /dev/wq_test holds a module reference, so no ioctl (and no
	 * timer or irq_work of one: each request cancels and syncs its own
	 * before returning) can be running here.  Only the watches remain.
	 */
	misc_deregister(&wqt_misc);
	for (i = 0; i < WQT_NR_OBJECTS; i++)
		wq_remove_watch_list(&wqt_objects[i], wqt_object_id(i));
}

module_init(wqt_init);
module_exit(wqt_exit);

MODULE_DESCRIPTION("watch_queue test producer (test only, never shipped)");
MODULE_LICENSE("GPL");
