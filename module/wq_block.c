// SPDX-License-Identifier: GPL-2.0
/*
 * Block errors: the original series posted from print_req_error(); that
 * function is now static (blk_print_req_error) and inlined, but the
 * block_rq_error tracepoint (6.1 has it) fires right after it under the same
 * condition (an error on a request that is not passthrough, not RQF_QUIET,
 * of a disk that is not being deleted).  Before it, block_rq_complete is
 * used and filtered (see wq_block_probe).  The tracepoint is not exported:
 * it is found by name with for_each_kernel_tracepoint() at load and
 * registered only while a device watch exists.  block_rq_error fires on
 * errors only, so successful I/O costs nothing even then.
 *
 * The probe runs in the completing context (hardirq, softirq or process)
 * and only builds a record and posts it.
 *
 * Disk watches end with their disk: kprobes (by symbol name) on
 * del_gendisk (every kernel), disk_release (the gendisk's release, right
 * before it is freed) and, from 5.15, inc_diskseq (a new medium, such as
 * a loop device bound to another file, is a new disk) tell
 * wq_devices_disk_gone().  They are armed while any disk is in the disk
 * table.  Their handlers run at the entry of the probed function, with
 * preemption off, where posting is allowed; they hold no reference.
 */
#include <linux/blk-mq.h>
#include <linux/blkdev.h>
#include <linux/kdev_t.h>
#include <linux/kprobes.h>
#include <linux/moduleparam.h>
#include <linux/mutex.h>
#include <linux/ptrace.h>
#include <linux/string.h>
#include <linux/tracepoint.h>
#include "compat/wq_compat_block.h"
#include "wq_block.h"
#include "wq_devices.h"
#include "wq_hooks.h"

#if defined(HAVE_TRACE_BLOCK_RQ_ERROR) || defined(HAVE_TRACE_BLOCK_RQ_COMPLETE_ERRNO)
#include <trace/events/block.h>

/* blk_status_t to subtype, as the original series' blk_notifications[] */
static u8 wq_block_subtype(blk_status_t status)
{
	if (status == BLK_STS_TIMEOUT)
		return WQ_BLOCK_ERROR_TIMEOUT;
	if (status == BLK_STS_NOSPC)
		return WQ_BLOCK_ERROR_NO_SPACE;
	if (status == BLK_STS_TRANSPORT)
		return WQ_BLOCK_ERROR_RECOVERABLE_TRANSPORT;
	if (status == BLK_STS_TARGET)
		return WQ_BLOCK_ERROR_CRITICAL_TARGET;
	if (status == WQ_BLK_STS_NEXUS)
		return WQ_BLOCK_ERROR_CRITICAL_NEXUS;
	if (status == BLK_STS_MEDIUM)
		return WQ_BLOCK_ERROR_CRITICAL_MEDIUM;
	if (status == BLK_STS_PROTECTION)
		return WQ_BLOCK_ERROR_PROTECTION;
	if (status == BLK_STS_RESOURCE)
		return WQ_BLOCK_ERROR_KERNEL_RESOURCE;
	if (status == BLK_STS_DEV_RESOURCE)
		return WQ_BLOCK_ERROR_DEVICE_RESOURCE;
	if (status == BLK_STS_IOERR)
		return WQ_BLOCK_ERROR_IO;
	/* NOTSUPP, AGAIN, DM_REQUEUE, zone statuses, OFFLINE, ...: none */
	return 0;
}

static void wq_block_post(struct request *rq, blk_status_t error)
{
	struct wq_block_notification n = {
		.watch.type	= WQ_TYPE_BLOCK,
		.watch.info	= sizeof(n),
	};
	struct gendisk *disk = wq_rq_disk(rq);

	n.watch.subtype = wq_block_subtype(error);
	if (!n.watch.subtype || !disk)
		return;
	n.dev = huge_encode_dev(disk_devt(disk));
	n.sector = blk_rq_pos(rq);
	wq_devices_post_block(&n, wq_disk_key(disk));
}

#ifdef HAVE_TRACE_BLOCK_RQ_ERROR
#define WQ_BLOCK_TP_NAME	"block_rq_error"

/* block_rq_error(rq, error, nr_bytes): errors only */
static void wq_block_probe(void *data, struct request *rq,
			   blk_status_t error, unsigned int nr_bytes)
{
	wq_block_post(rq, error);
}

static void wq_block_check_probe(void)
{
	/* Fails to build if the probe does not match the tracepoint. */
	check_trace_callback_type_block_rq_error(wq_block_probe);
}
#else
#define WQ_BLOCK_TP_NAME	"block_rq_complete"

/*
 * Older kernels (5.10 among the supported ones) have no error-only
 * tracepoint: block_rq_complete(rq, errno, nr_bytes) fires in
 * blk_update_request() for every completion.  The cheapest check comes
 * first; then print_req_error()'s own conditions (a bio left, not
 * passthrough, not quiet), so that what is posted is what the kernel logs.
 */
static void wq_block_probe(void *data, struct request *rq, int error,
			   unsigned int nr_bytes)
{
	if (likely(!error))
		return;
	if (!rq->bio || blk_rq_is_passthrough(rq) ||
	    (rq->rq_flags & RQF_QUIET))
		return;
	wq_block_post(rq, errno_to_blk_status(error));
}

static void wq_block_check_probe(void)
{
	check_trace_callback_type_block_rq_complete(wq_block_probe);
}
#endif

#else /* neither tracepoint */
#define WQ_BLOCK_TP_NAME	"block_rq_error"
/*
 * Kernels with a blk_status_t block_rq_complete but no block_rq_error: no
 * probe, so the hook is listed as not found.
 */
#define wq_block_probe		NULL

static void wq_block_check_probe(void)
{
}
#endif

static struct wq_hook wq_block_hooks[] = {
	{ .names = { WQ_BLOCK_TP_NAME }, .kind = WQ_HOOK_TRACEPOINT,
	  .tp_probe = wq_block_probe },
};

static struct wq_hook_set wq_block_hook_set = {
	WQ_HOOK_SET(wq_block_hook_set, "block", "block notifications",
		    wq_block_hooks),
};
/*
 * del_gendisk(disk): the disk is being deleted; inc_diskseq(disk): it gets
 * a new medium (also called for a disk being made, never watched yet).
 */
static int wq_disk_gone_pre(struct kprobe *kp, struct pt_regs *regs)
{
	wq_devices_disk_gone((struct gendisk *)regs_get_kernel_argument(regs, 0));
	return 0;
}

/*
 * disk_release(dev): the gendisk's last reference is gone.  A watch added
 * while del_gendisk() ran (the disk was still live when checked) ends
 * here at the latest, before the gendisk's address can be reused.
 */
static int wq_disk_release_pre(struct kprobe *kp, struct pt_regs *regs)
{
	wq_devices_disk_gone(dev_to_disk((struct device *)
					 regs_get_kernel_argument(regs, 0)));
	return 0;
}

#define DISK_KP(n, need_, handler)					\
	{ .names = { n }, .kind = WQ_HOOK_KPROBE, .need = need_,	\
	  .pre = handler }

static struct wq_hook wq_disk_hooks[] = {
	DISK_KP("del_gendisk", WQ_HOOK_REQUIRED, wq_disk_gone_pre),
#ifdef HAVE_GENDISK_DISKSEQ
	/* The sequence number tells disks apart: these two are for timeliness. */
	DISK_KP("disk_release", WQ_HOOK_OPTIONAL, wq_disk_release_pre),
	/* inc_diskseq(disk): before the increment, so the old key is seen */
	DISK_KP("inc_diskseq", WQ_HOOK_OPTIONAL, wq_disk_gone_pre),
#else
	/* The key is the gendisk's address: it must go before the gendisk. */
	DISK_KP("disk_release", WQ_HOOK_REQUIRED, wq_disk_release_pre),
#endif
};

static struct wq_hook_set wq_disk_hook_set = {
	WQ_HOOK_SET(wq_disk_hook_set, "disk", "disk watches", wq_disk_hooks),
};

/* The disk hooks are looked for only if block errors can be seen. */
int wq_block_init(void)
{
	wq_block_check_probe();
	wq_hooks_init(&wq_block_hook_set);
	if (wq_block_available())
		wq_hooks_init(&wq_disk_hook_set);
	return 0;
}

bool wq_block_available(void)
{
	return wq_hooks_available(&wq_block_hook_set);
}

int wq_block_arm(void)
{
	return wq_hooks_arm(&wq_block_hook_set, 0);
}

void wq_block_disarm(void)
{
	wq_hooks_disarm(&wq_block_hook_set);
}

bool wq_block_disk_hooks_available(void)
{
	return wq_block_available() && wq_hooks_available(&wq_disk_hook_set);
}

int wq_block_disk_hooks_arm(void)
{
	return wq_hooks_arm(&wq_disk_hook_set, 0);
}

void wq_block_disk_hooks_disarm(void)
{
	wq_hooks_disarm(&wq_disk_hook_set);
}

/*
 * block_hooks and disk_hooks (read-only): the block and disk lines of
 * "hooks", kept as the README has them.
 */
module_param_cb(disk_hooks, &wq_hooks_set_param_ops, &wq_disk_hook_set, 0444);
MODULE_PARM_DESC(disk_hooks, "Disk lifetime hook targets (as in hooks): + armed, ! not found");
module_param_cb(block_hooks, &wq_hooks_set_param_ops, &wq_block_hook_set,
		0444);
MODULE_PARM_DESC(block_hooks, "Block error hook (as in hooks): + armed, ! not found");
