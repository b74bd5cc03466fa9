/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * /dev/watch_queue: the general notification queue as a character device.
 *
 * Documentation
 * =============
 *
 * Each open of /dev/watch_queue is one queue with one ring.  Records use
 * upstream's format (<linux/watch_queue.h>): an 8-byte header
 * struct wq_notification, identical in layout to struct watch_notification,
 * followed by type-specific data.  The total length (header included) is in
 * info & WQ_INFO_LENGTH: 8..120 bytes and always a multiple of 8, so records
 * follow each other without padding both in the ring and in read()'s buffer.
 *
 * This header only uses wq_/WQ_ names so that it can be included together
 * with <linux/watch_queue.h>, and it does not include <linux/fcntl.h>, so it
 * can be included together with glibc's <fcntl.h> in either order.
 *
 * Sizing
 *	WQ_IOC_SET_SIZE (upstream's IOC_WATCH_QUEUE_SET_SIZE, same number):
 *	arg = number of 128-byte notes, 1..512; the ring holds at least that
 *	many maximum-size records (the byte size is rounded up to a power of
 *	two of at least one page).  WQ_IOC_SET_RING_BYTES: arg points to a
 *	__u64 byte size, rounded up to a power of two of at least one page,
 *	at most the module parameter max_ring_bytes (16 MiB by default).
 *	Either may be used once, before the first watch is added: EBUSY
 *	afterwards.  EINVAL for a size out of range, ENOSPC past the per-user
 *	ring memory limit, ENOMEM if the memory (charged to the caller's memory
 *	cgroup) cannot be had.  A watch added to a queue that was never sized
 *	sizes it with the module parameter default_ring_bytes.
 *
 * Filtering
 *	WQ_IOC_SET_FILTER (upstream's IOC_WATCH_QUEUE_SET_FILTER): arg points
 *	to a struct wq_notification_filter (identical to upstream's struct
 *	watch_notification_filter), or is NULL to remove the filter.  EINVAL
 *	if nr_filters is 0 or > 16, __reserved is not 0, an entry's
 *	info_filter has bits outside its info_mask, or an info_mask covers
 *	WQ_INFO_LENGTH; EFAULT for a bad pointer.  Once a filter is set a
 *	record passes if some entry has its type, the bit of its subtype set in
 *	subtype_filter[] and (info & info_mask) == info_filter (info includes
 *	the watch id); other records are dropped silently (not counted as
 *	loss).  Meta records (loss, removal) are never filtered.  Unlike
 *	upstream, which keeps only subtype_filter[0] (subtypes 0..31), all 256
 *	subtypes are honoured, and entries of any type number are kept
 *	(upstream ignores types it does not know; a type above 24 bits can
 *	never match).
 *
 * Reading
 *	read() returns whole records only: as many as fit in the buffer; if
 *	not even the first fits, ENOBUFS.  An empty queue blocks, or gives
 *	EAGAIN with O_NONBLOCK; a signal interrupts the wait (EINTR or a
 *	restart).  write() and splice into or out of the device give EXDEV,
 *	like upstream's notification pipes (sendfile() out of the device is
 *	refused by the kernel itself with EINVAL, as for any non-regular file).  FIONREAD gives the number of
 *	bytes of whole records ready.  poll() reports EPOLLIN|EPOLLRDNORM
 *	when a record (or a pending loss record) is ready, EPOLLERR when the
 *	consumer position in the ring is corrupt.
 *
 * Loss
 *	A record that does not fit in the ring is dropped and counted.  The
 *	reader then meets a WQ_META_LOSS record (struct wq_loss_notification,
 *	16 bytes, upstream's WATCH_META_LOSS_NOTIFICATION with the number of
 *	records lost since the previous loss record) before any record posted
 *	after the loss, in read() and mmap mode alike.  The total since the
 *	queue was opened is also in struct wq_ring_producer.lost.
 *
 * Removal
 *	When a watch ends because its object died or it was removed, the queue
 *	receives upstream's removal record: WQ_META_REMOVAL with the watch's id
 *	in WQ_INFO_ID and, if the object has a non-zero id, the 16-byte form
 *	struct wq_removal_notification carrying it.
 *
 * Sync
 *	WQ_IOC_SYNC (_IO('W', 0x62), keyutils' PIPE_IOC_SYNC): returns 0 once
 *	every record posted before the call has been consumed (by read() or
 *	by the mmap consumer advancing its position); interruptible (EINTR).
 *
 * Zero-copy consumption through mmap
 *	After sizing, WQ_IOC_GET_INFO describes the ring.  Map with MAP_SHARED:
 *	- offset info.consumer_off, one page, PROT_READ|PROT_WRITE (which
 *	  needs the device opened O_RDWR): struct wq_ring_consumer, the only
 *	  memory user space may write;
 *	- offset info.producer_off, info.producer_len bytes, PROT_READ only:
 *	  struct wq_ring_producer on the first page, then the data area at
 *	  info.data_off inside this mapping, mapped twice back to back so that
 *	  a record starting anywhere can be read in place without wrapping.
 *	A writable or private mapping of the read-only part gives EPERM or
 *	EINVAL, a mapping past the end or not page aligned EINVAL, a mapping
 *	of an unsized queue ENODATA; mprotect cannot add write permission and
 *	mremap cannot grow a mapping.
 *
 *	Positions are free-running byte counts; the record at position p is at
 *	data + (p & (info.data_size - 1)).  The consumer loads producer->head
 *	with acquire semantics, reads records from its own tail up to head,
 *	then stores the new tail with release semantics.  A consumer that
 *	stores a position that is not 8-aligned or not within data_size behind
 *	head corrupts only its own queue: posts to it are then lost and
 *	counted, and read() gives EIO until the position is valid again.
 *
 * Key watches
 *	WQ_IOC_WATCH_KEY: arg points to a struct wq_watch_key; the semantics
 *	of upstream's keyctl(KEYCTL_WATCH_KEY, key, fd, watch_id).  key is a
 *	serial or a special id (KEY_SPEC_SESSION_KEYRING, ...), resolved in the
 *	caller's context (special keyrings are created on demand); the caller
 *	needs View permission (EACCES otherwise; ENOKEY, EKEYEXPIRED,
 *	EKEYREVOKED as keyctl).  watch_id 0..255 adds a watch whose records
 *	carry that id in WQ_INFO_ID (EBUSY if this queue already watches the
 *	key); -1 removes it, posting a removal record (EBADSLT if none); any
 *	other value, non-zero flags or reserved fields give EINVAL.  Records
 *	are upstream's struct key_notification (struct wq_key_notification).
 *	When the key is destroyed every watcher gets a 16-byte removal record
 *	with the key's serial and the watch is gone.
 *
 * Limits (module parameters, see modinfo watch_queue)
 *	max_ring_bytes (per queue), max_user_ring_bytes, max_user_queues and
 *	max_user_watches (per user).  Opening past max_user_queues gives
 *	EMFILE, sizing past max_user_ring_bytes ENOSPC, adding a watch past
 *	max_user_watches EAGAIN (as upstream's RLIMIT_NOFILE check).  Users
 *	with CAP_SYS_RESOURCE are not subject to the per-user limits.
 */
#ifndef _UAPI_LINUX_WQ_DEV_H
#define _UAPI_LINUX_WQ_DEV_H

#include <linux/types.h>
#include <linux/ioctl.h>

#define WQ_DEV_PATH		"/dev/watch_queue"
#define WQ_ABI_VERSION		1

/* Record types and subtypes (upstream's numbers; 2 and 3 from the 2019 series) */
enum wq_notification_type {
	WQ_TYPE_META	= 0,	/* loss and removal records */
	WQ_TYPE_KEY	= 1,	/* key/keyring changes, upstream's WATCH_TYPE_KEY_NOTIFY */
	WQ_TYPE_BLOCK	= 2,	/* block device errors */
	WQ_TYPE_USB	= 3,	/* USB devices and buses */
};

enum wq_meta_subtype {
	WQ_META_REMOVAL	= 0,	/* upstream WATCH_META_REMOVAL_NOTIFICATION */
	WQ_META_LOSS	= 1,	/* upstream WATCH_META_LOSS_NOTIFICATION */
};

/* Same layout and bits as upstream's struct watch_notification */
struct wq_notification {
	__u32	type:24;
	__u32	subtype:8;
	__u32	info;
#define WQ_INFO_LENGTH		0x0000007f	/* record length in bytes, header included */
#define WQ_INFO_LENGTH__SHIFT	0
#define WQ_INFO_ID		0x0000ff00	/* watch id given when the watch was added */
#define WQ_INFO_ID__SHIFT	8
#define WQ_INFO_TYPE_INFO	0xffff0000	/* type-specific flags */
#define WQ_INFO_TYPE_INFO__SHIFT 16
};

#define WQ_RECORD_ALIGN		8
#define WQ_RECORD_MAX		120

/* WQ_META_REMOVAL: 8 bytes, or 16 when the object has a non-zero id */
struct wq_removal_notification {
	struct wq_notification	watch;
	__u64			id;	/* object id (key serial, ...) */
};

/* WQ_META_LOSS: 16 bytes (upstream's 8-byte form plus the count) */
struct wq_loss_notification {
	struct wq_notification	watch;
	__u64			count;	/* records lost since the previous loss record */
};

/* WQ_TYPE_KEY: upstream's struct key_notification and subtypes */
enum wq_key_subtype {
	WQ_KEY_INSTANTIATED	= 0,	/* aux: 0, or -error for negative instantiation */
	WQ_KEY_UPDATED		= 1,
	WQ_KEY_LINKED		= 2,	/* key_id: keyring, aux: linked key */
	WQ_KEY_UNLINKED		= 3,	/* key_id: keyring, aux: unlinked key */
	WQ_KEY_CLEARED		= 4,
	WQ_KEY_REVOKED		= 5,
	WQ_KEY_INVALIDATED	= 6,
	WQ_KEY_SETATTR		= 7,	/* permissions, owner or expiry changed */
};

struct wq_key_notification {
	struct wq_notification	watch;
	__u32			key_id;
	__u32			aux;
};

struct wq_watch_key {
	__s32	key;			/* serial or KEY_SPEC_* */
	__s32	watch_id;		/* 0..255 to add, -1 to remove */
	__u32	flags;			/* 0 */
	__u32	__reserved;		/* 0 */
};

/* Filters: identical in layout to upstream's watch_notification_*filter */
struct wq_notification_type_filter {
	__u32	type;			/* type to match */
	__u32	info_filter;		/* (info & info_mask) must equal this */
	__u32	info_mask;
	__u32	subtype_filter[8];	/* bit n: subtype n passes */
};

struct wq_notification_filter {
	__u32	nr_filters;		/* 1..WQ_MAX_FILTERS */
	__u32	__reserved;		/* must be 0 */
	struct wq_notification_type_filter filters[];
};

#define WQ_MAX_FILTERS		16

/* Ring control pages (see "Zero-copy consumption through mmap") */
struct wq_ring_consumer {
	__u64	tail;			/* consumer position, written by user space */
};

struct wq_ring_producer {
	__u64	head;			/* producer position, published with release */
	__u64	lost;			/* records lost since the queue was opened */
	__u64	data_size;		/* bytes, a power of two */
	__u64	__reserved[5];
};

struct wq_ring_info {
	__u32	size;			/* in: sizeof(struct wq_ring_info); out: bytes filled */
	__u32	abi_version;		/* WQ_ABI_VERSION */
	__u64	data_size;		/* ring data bytes, 0 if the queue is not sized */
	__u64	consumer_off;		/* mmap offset of struct wq_ring_consumer */
	__u64	producer_off;		/* mmap offset of the read-only part */
	__u64	producer_len;		/* length of the read-only part */
	__u64	data_off;		/* data offset inside the read-only part */
	__u64	lost;			/* as wq_ring_producer.lost */
	__u64	features;		/* WQ_FEATURE_* */
	__u64	__reserved[4];		/* 0 */
};

#define WQ_FEATURE_MMAP		(1ULL << 0)
#define WQ_FEATURE_SYNC		(1ULL << 1)
#define WQ_FEATURE_KEYS		(1ULL << 2)	/* WQ_IOC_WATCH_KEY usable */

/* Upstream's numbers and meanings */
#define WQ_IOC_SET_SIZE		_IO('W', 0x60)	/* arg: number of notes, 1..512 */
#define WQ_IOC_SET_FILTER	_IO('W', 0x61)	/* arg: struct wq_notification_filter * or NULL */
#define WQ_IOC_SYNC		_IO('W', 0x62)	/* keyutils' PIPE_IOC_SYNC */

/* Extensions ('W' 0x70-0x7f) */
#define WQ_IOC_SET_RING_BYTES	_IOW('W', 0x70, __u64)
#define WQ_IOC_GET_INFO		_IOWR('W', 0x71, struct wq_ring_info)
#define WQ_IOC_WATCH_KEY	_IOW('W', 0x72, struct wq_watch_key)

#define WQ_MAX_NOTES		512
#define WQ_NOTE_SIZE		128

#endif /* _UAPI_LINUX_WQ_DEV_H */
