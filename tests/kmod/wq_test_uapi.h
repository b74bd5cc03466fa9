/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * Test-only module wq_test.ko (never shipped): /dev/wq_test (root only)
 * posts synthetic records into queues that watch its objects, from process,
 * softirq (timer) or hardirq (irq_work) context, at chosen sizes and rates,
 * with per-producer sequence numbers.
 */
#ifndef _WQ_TEST_UAPI_H
#define _WQ_TEST_UAPI_H

#include <linux/types.h>
#include <linux/ioctl.h>

#define WQT_DEV_PATH	"/dev/wq_test"
#define WQT_NR_OBJECTS	8		/* objects 0..7; object n has id n + 1 */
#define WQT_TYPE	0x7e57		/* record type of synthetic records */

/* Add (watch_id 0..255) or remove (watch_id -1) a watch of @object by queue @fd */
struct wqt_watch {
	__s32	fd;
	__s32	watch_id;
	__u32	object;
	__u32	__reserved;	/* 0 */
};

enum wqt_context {
	WQT_CTX_PROCESS	= 0,	/* in the ioctl's task */
	WQT_CTX_SOFTIRQ	= 1,	/* timer callback on @cpu */
	WQT_CTX_HARDIRQ	= 2,	/* irq_work on @cpu */
};

/*
 * Post @count records of @size bytes (16..120, multiple of 8) to @object,
 * @batch per firing (softirq/hardirq; default 1), waiting @interval_ns between
 * firings (0: as fast as possible).  Returns when all are posted.
 */
struct wqt_post {
	__u32	object;
	__u32	context;	/* enum wqt_context */
	__s32	cpu;		/* -1: any */
	__u32	producer;	/* stamped in each record */
	__u64	count;
	__u32	size;
	__u32	batch;
	__u64	interval_ns;
	__u32	subtype;
	__u32	__reserved;	/* 0 */
	__u64	first_seq;	/* seq of the first record */
	/* out */
	__u64	posted;		/* records handed to wq_post() */
	__u64	in_context;	/* of those, posted in the requested context */
};

/* Layout of a synthetic record; bytes [16, size) are wqt_fill(seq, i) */
struct wqt_record {
	__u32	type_subtype;	/* struct wq_notification header */
	__u32	info;
	__u16	producer;
	__u16	check;		/* wqt_check(producer, seq, size) */
	__u32	seq;
};

static inline __u16 wqt_check(__u32 producer, __u32 seq, __u32 size)
{
	return (__u16)((producer * 40503u) ^ (seq * 2654435761u >> 16) ^ size);
}

static inline __u8 wqt_fill(__u32 seq, __u32 i)
{
	return (__u8)(seq * 31u + i * 7u + 1u);
}

#define WQT_IOC_WATCH	_IOW('W', 0x90, struct wqt_watch)
#define WQT_IOC_KILL	_IOW('W', 0x91, __u32)	/* object dies: removal records */
#define WQT_IOC_POST	_IOWR('W', 0x92, struct wqt_post)

#endif /* _WQ_TEST_UAPI_H */
