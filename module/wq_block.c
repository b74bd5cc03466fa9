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

static void wq_disk_hooks_init(void);

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
	else
		wq_disk_hooks_init();
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

struct wq_disk_hook {
	const char		*name;
	bool			required;	/* no disk watch without it */
	kprobe_pre_handler_t	pre;
	bool			found;
	bool			armed;
	struct kprobe		kp;
};

static struct wq_disk_hook wq_disk_hooks[] = {
	{ .name = "del_gendisk", .required = true, .pre = wq_disk_gone_pre },
#ifdef HAVE_GENDISK_DISKSEQ
	/* The sequence number tells disks apart: these two are for timeliness. */
	{ .name = "disk_release", .pre = wq_disk_release_pre },
	/* inc_diskseq(disk): before the increment, so the old key is seen */
	{ .name = "inc_diskseq", .pre = wq_disk_gone_pre },
#else
	/* The key is the gendisk's address: it must go before the gendisk. */
	{ .name = "disk_release", .required = true, .pre = wq_disk_release_pre },
#endif
};

/* Serialises arming and disarming with the disk_hooks parameter. */
static DEFINE_MUTEX(wq_disk_hooks_mutex);

static int wq_disk_hook_register(struct wq_disk_hook *h)
{
	/* A kprobe may be registered again only from a clean structure. */
	memset(&h->kp, 0, sizeof(h->kp));
	h->kp.symbol_name = h->name;
	h->kp.pre_handler = h->pre;
	return register_kprobe(&h->kp);
}

/* At load: which targets exist (placed and removed again). */
static void __maybe_unused wq_disk_hooks_init(void)
{
	struct wq_disk_hook *h;

	for (h = wq_disk_hooks; h < wq_disk_hooks + ARRAY_SIZE(wq_disk_hooks);
	     h++) {
		if (!wq_disk_hook_register(h)) {
			unregister_kprobe(&h->kp);
			h->found = true;
		} else if (h->required) {
			pr_warn("disk hook %s unavailable: disk watches disabled\n",
				h->name);
		} else {
			pr_info("disk hook %s unavailable\n", h->name);
		}
	}
}

bool wq_block_disk_hooks_available(void)
{
	unsigned int i;

	if (!wq_block_available())
		return false;
	for (i = 0; i < ARRAY_SIZE(wq_disk_hooks); i++)
		if (wq_disk_hooks[i].required && !wq_disk_hooks[i].found)
			return false;
	return true;
}

void wq_block_disk_hooks_disarm(void)
{
	struct kprobe *kps[ARRAY_SIZE(wq_disk_hooks)];
	unsigned int i, nr = 0;

	mutex_lock(&wq_disk_hooks_mutex);
	for (i = 0; i < ARRAY_SIZE(wq_disk_hooks); i++) {
		if (!wq_disk_hooks[i].armed)
			continue;
		kps[nr++] = &wq_disk_hooks[i].kp;
		wq_disk_hooks[i].armed = false;
	}
	/* One grace period for all; no handler runs once this returns. */
	if (nr)
		unregister_kprobes(kps, nr);
	mutex_unlock(&wq_disk_hooks_mutex);
}

int wq_block_disk_hooks_arm(void)
{
	struct wq_disk_hook *h;
	int ret = 0;

	if (!wq_block_disk_hooks_available())
		return -EOPNOTSUPP;
	mutex_lock(&wq_disk_hooks_mutex);
	for (h = wq_disk_hooks; h < wq_disk_hooks + ARRAY_SIZE(wq_disk_hooks);
	     h++) {
		if (h->armed || !h->found)
			continue;
		ret = wq_disk_hook_register(h);
		if (ret && h->required) {
			pr_warn("cannot arm disk hook %s: %d\n", h->name, ret);
			break;
		}
		h->armed = !ret;
		ret = 0;
	}
	mutex_unlock(&wq_disk_hooks_mutex);
	if (ret)
		wq_block_disk_hooks_disarm();
	return ret;
}

/* disk_hooks (read-only): each target, "+" armed, "!" not found */
static int wq_disk_hooks_show(char *buf, const struct kernel_param *kp)
{
	const struct wq_disk_hook *h;
	int n = 0;

	mutex_lock(&wq_disk_hooks_mutex);
	for (h = wq_disk_hooks; h < wq_disk_hooks + ARRAY_SIZE(wq_disk_hooks);
	     h++)
		n += scnprintf(buf + n, PAGE_SIZE - n, "%s%s%s",
			       h == wq_disk_hooks ? "" : " ",
			       h->armed ? "+" : h->found ? "" : "!", h->name);
	mutex_unlock(&wq_disk_hooks_mutex);
	n += scnprintf(buf + n, PAGE_SIZE - n, "\n");
	return n;
}

static const struct kernel_param_ops wq_disk_hooks_ops = {
	.get = wq_disk_hooks_show,
};
module_param_cb(disk_hooks, &wq_disk_hooks_ops, NULL, 0444);
MODULE_PARM_DESC(disk_hooks, "Disk lifetime hook targets: + armed, ! not found");

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
