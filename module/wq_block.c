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
 */
#include <linux/blk-mq.h>
#include <linux/blkdev.h>
#include <linux/kdev_t.h>
#include <linux/moduleparam.h>
#include <linux/string.h>
#include <linux/tracepoint.h>
#include "compat/wq_compat_block.h"
#include "wq_block.h"
#include "wq_devices.h"

#if defined(HAVE_TRACE_BLOCK_RQ_ERROR) || defined(HAVE_TRACE_BLOCK_RQ_COMPLETE_ERRNO)
#include <trace/events/block.h>

static struct tracepoint *wq_block_tp;
static bool wq_block_armed;

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
	wq_devices_post_block(&n);
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

static void wq_block_find_tp(struct tracepoint *tp, void *priv)
{
	if (!strcmp(tp->name, WQ_BLOCK_TP_NAME))
		wq_block_tp = tp;
}

int wq_block_init(void)
{
	wq_block_check_probe();
	for_each_kernel_tracepoint(wq_block_find_tp, NULL);
	if (!wq_block_tp)
		pr_warn("tracepoint %s not found: block notifications disabled\n",
			WQ_BLOCK_TP_NAME);
	return 0;
}

bool wq_block_available(void)
{
	return wq_block_tp;
}

int wq_block_arm(void)
{
	int ret;

	if (wq_block_armed)
		return 0;
	if (!wq_block_tp)
		return -EOPNOTSUPP;
	ret = tracepoint_probe_register(wq_block_tp, wq_block_probe, NULL);
	if (ret) {
		pr_warn("cannot arm %s: %d\n", WQ_BLOCK_TP_NAME, ret);
		return ret;
	}
	wq_block_armed = true;
	return 0;
}

void wq_block_disarm(void)
{
	if (!wq_block_armed)
		return;
	tracepoint_probe_unregister(wq_block_tp, wq_block_probe, NULL);
	/* No probe may still be running once we return. */
	tracepoint_synchronize_unregister();
	wq_block_armed = false;
}

static const char *wq_block_state(void)
{
	if (!wq_block_tp)
		return "unavailable";
	return wq_block_armed ? "armed " WQ_BLOCK_TP_NAME :
				"disarmed " WQ_BLOCK_TP_NAME;
}

#else /* neither tracepoint */
/* Kernels with a blk_status_t block_rq_complete but no block_rq_error. */
int wq_block_init(void)
{
	pr_warn("no usable block tracepoint in this kernel: block notifications disabled\n");
	return 0;
}

bool wq_block_available(void)
{
	return false;
}

int wq_block_arm(void)
{
	return -EOPNOTSUPP;
}

void wq_block_disarm(void)
{
}

static const char *wq_block_state(void)
{
	return "unavailable";
}
#endif

/* block_hooks (read-only): "unavailable", or armed/disarmed and the hook */
static int wq_block_hooks_show(char *buf, const struct kernel_param *kp)
{
	return scnprintf(buf, PAGE_SIZE, "%s\n", wq_block_state());
}

static const struct kernel_param_ops wq_block_hooks_ops = {
	.get = wq_block_hooks_show,
};
module_param_cb(block_hooks, &wq_block_hooks_ops, NULL, 0444);
MODULE_PARM_DESC(block_hooks, "Block error hook: whether it exists and is armed");
