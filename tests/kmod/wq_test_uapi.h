/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * Test-only module wq_test.ko (never shipped): /dev/wq_test (root only)
 * posts synthetic records into queues that watch its objects, from process,
 * softirq (timer) or hardirq (irq_work) context, at chosen sizes and rates,
 * with per-producer sequence numbers.
 *
 * Objects
 *	The module owns WQT_NR_OBJECTS watchable objects; object n has the
 *	object id n + 1 (the id carried by a 16-byte removal record).
 *
 * WQT_IOC_WATCH
 *	Adds a watch of @object by the /dev/watch_queue queue @fd tagged with
 *	@watch_id (0..255), or removes that queue's watch of @object
 *	(@watch_id -1, a removal record is posted).  EINVAL for a bad object,
 *	watch id or non-zero __reserved; otherwise the core's errors are
 *	passed through: EBADF/EINVAL (not a queue), EBUSY (already watching),
 *	EAGAIN (watch limit), EBADSLT (no such watch on removal), ...
 *
 * WQT_IOC_KILL
 *	arg points to a __u32 object number.  The object "dies": every queue
 *	watching it receives a removal record and loses its watch.  The
 *	object itself stays usable and may be watched again.
 *
 * WQT_IOC_POST
 *	Posts @count records (see struct wqt_post) and returns once all of
 *	them have been handed to the core, or early with EINTR; posted and
 *	in_context are written back in both cases.
 *	- WQT_CTX_PROCESS: posted by the ioctl's own task.  @cpu must be -1 or
 *	  an online CPU but is otherwise ignored (pin the calling task
 *	  instead).  Only a fatal signal interrupts it.
 *	- WQT_CTX_SOFTIRQ: a pinned timer on @cpu (-1: the CPU the ioctl
 *	  started on) posts @batch records per firing; firings are
 *	  max(1, @interval_ns in jiffies) apart, so with @interval_ns 0 it
 *	  fires once per jiffy.  Any signal interrupts the wait.
 *	- WQT_CTX_HARDIRQ: an irq_work raised on @cpu (-1: the CPU the ioctl
 *	  started on) posts @batch records per run; the ioctl's task raises
 *	  the next run once the previous one has finished, @interval_ns later
 *	  (0: immediately).  Any signal interrupts the wait; ENXIO if @cpu
 *	  goes offline meanwhile.
 *	In every context @batch records are posted back to back and then
 *	@interval_ns is waited (process context too).  @in_context counts the
 *	records posted while !in_interrupt() (process), in_serving_softirq()
 *	(softirq) or in_hardirq() (hardirq) was true; an irq_work run from the
 *	idle loop or from CPU hot-unplug is not in hard interrupt context.
 *	EINVAL for: @object >= WQT_NR_OBJECTS, an unknown @context, @cpu
 *	neither -1 nor an online CPU, @producer > 0xffff, @count 0, @size
 *	outside 16..120 or not a multiple of 8, @batch > WQT_MAX_BATCH (0
 *	means 1), @interval_ns > WQT_MAX_INTERVAL_NS, @subtype > 255 or
 *	__reserved not 0.
 */
#ifndef _WQ_TEST_UAPI_H
#define _WQ_TEST_UAPI_H

#include <linux/types.h>
#include <linux/ioctl.h>

#define WQT_DEV_PATH	"/dev/wq_test"
#define WQT_NR_OBJECTS	8		/* objects 0..7; object n has id n + 1 */
#define WQT_TYPE	0x7e57		/* record type of synthetic records */

#define WQT_RECORD_MIN		16	/* record sizes: 16..120, multiple of 8 */
#define WQT_RECORD_MAX		120
#define WQT_MAX_BATCH		1024
#define WQT_MAX_INTERVAL_NS	10000000000ULL	/* 10 s */

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
 * @batch per firing (default 1), waiting @interval_ns between firings (0: as
 * fast as possible).  Returns when all are posted.
 */
struct wqt_post {
	__u32	object;
	__u32	context;	/* enum wqt_context */
	__s32	cpu;		/* -1: any */
	__u32	producer;	/* stamped in each record, 0..0xffff */
	__u64	count;
	__u32	size;
	__u32	batch;
	__u64	interval_ns;
	__u32	subtype;	/* 0..255 */
	__u32	__reserved;	/* 0 */
	__u64	first_seq;	/* seq of the first record (low 32 bits used) */
	/* out */
	__u64	posted;		/* records handed to wq_post() */
	__u64	in_context;	/* of those, posted in the requested context */
};

/*
 * Layout of a synthetic record: the header has type WQT_TYPE, the requested
 * subtype and info = size (the core adds the watch id); record k of a
 * request has seq = first_seq + k (mod 2^32); byte i of the record, for
 * 16 <= i < size, is wqt_fill(seq, i).
 */
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
