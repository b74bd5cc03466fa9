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
 *	arg = number of 128-byte notes, 1..512, with upstream's capacity: as
 *	upstream allocates whole pages of notes, the count is rounded up to a
 *	multiple of a page's worth (32 on 4 KiB pages: 1 gives 32, 33 gives
 *	64), and the queue holds at most that many records, one per note
 *	whatever their size; a record posted while that many are unread is
 *	lost (counted, and reported by a loss record), exactly where upstream's
 *	queue would lose it.  Loss and removal records are not posted
 *	records: a loss record takes no note (upstream's read() makes its own
 *	up), a removal record takes one (as upstream's).  A record is unread,
 *	and keeps its note, until the consumer position has passed its end:
 *	read() and the mapping's consumer alike give notes back.  The ring
 *	under such a queue is still the byte ring described below, only large
 *	enough that the record count, never the bytes, refuses a record:
 *	data_size is room for that many records of the largest size each behind
 *	a loss record, and one loss record more, rounded up to a power of two
 *	(8 KiB for up to 32 notes, 128 KiB for 512).  A mapping's reader sees
 *	the same records and loss records in the same place as read().
 *	WQ_IOC_SET_RING_BYTES: byte semantics, no record limit: arg points to a
 *	__u64 byte size, rounded up to a power of two of at least one page,
 *	at most the module parameter max_ring_bytes (16 MiB by default).
 *	Either may be used once, before the first watch is added: EBUSY
 *	afterwards.  EINVAL for a size out of range, ENOSPC past the per-user
 *	ring memory limit, ENOMEM if the memory (charged to the caller's memory
 *	cgroup) cannot be had.  A watch added to a queue that was never sized
 *	sizes it with the module parameter default_ring_bytes (a watch request
 *	with watch_id 0..255 may do so even when the watch is then refused).
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
 *	A queue sized with WQ_IOC_SET_SIZE places loss records as upstream
 *	does: upstream marks the last record queued before a loss, and read()
 *	makes a loss record up once that record has been read.  So the records
 *	lost between two records that were queued give one loss record, between
 *	those two, and the records lost after the last one queued give one
 *	loss record after it, which the reader gets once it has read everything
 *	before it: the next read() returns it without blocking, as upstream's
 *	does, and poll() reports it (upstream's does not).  It is written into
 *	the ring when a read(), poll() or FIONREAD finds everything before it
 *	consumed, or ahead of the next record, so a mapping's reader gets it
 *	by polling.  FIONREAD counts it only once it is written: while records
 *	are unread, FIONREAD is their bytes, as upstream's.  A queue sized with
 *	WQ_IOC_SET_RING_BYTES (or never sized) writes a pending loss record
 *	as soon as there is room and a read(), poll() or FIONREAD asks.
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
 * Device watches
 *	WQ_IOC_WATCH_DEVICES: arg points to a struct wq_watch_devices.
 *	watch_id 0..255 adds a watch whose records carry that id in
 *	WQ_INFO_ID, -1 removes it; any other value, non-zero flags or
 *	__reserved give EINVAL.
 *
 *	blk_fd == -1 is the global device watch, the original series'
 *	watch_devices(fd, watch_id, flags): one list for every block error
 *	and every USB event in the system.  Adding it needs CAP_SYS_ADMIN in
 *	the initial user namespace (EPERM otherwise, so a container sees no
 *	host device events); removing needs nothing.  A queue holds it once
 *	(EBUSY); removal posts the 8-byte removal record (EBADSLT if none).
 *
 *	blk_fd >= 0 is an open file descriptor of a block device (any open
 *	mode): a watch of that disk's errors only, without USB events.  A
 *	partition stands for its whole disk.  It needs no capability: whoever
 *	could open the device may watch it.  EBADF for a closed or O_PATH
 *	descriptor (and blk_fd < -1), ENOTBLK for one that is not a block
 *	device.  A queue watches a disk once (EBUSY); removal (any open
 *	descriptor of the disk or of one of its partitions) posts the 16-byte
 *	removal record with the disk's device number (EBADSLT if none).  The
 *	watch outlives the descriptor it was added with but not the disk: it
 *	ends with its disk.  When the disk is deleted (unplugged, its driver
 *	or device removed) every watcher gets the 16-byte removal record with
 *	the device number and the watch is gone; a later disk that gets the
 *	same device number is a different disk, never reported to it (it has
 *	to be opened and watched anew).  From Linux 5.15 a new medium in the
 *	same drive (a loop device bound to another file, a card swapped in a
 *	reader that reports media changes) also ends the watch that way; on
 *	5.10 the watch stays with the drive.  A disk already deleted (a
 *	descriptor left open) gives ENODEV.  A queue may hold the global watch
 *	and any number of disk watches; a block error is then delivered once
 *	per watch.
 *
 *	EOPNOTSUPP if the kernel lacks what the watch needs: WQ_IOC_GET_INFO
 *	reports WQ_FEATURE_BLOCK (block errors can be seen: the block_rq_error
 *	tracepoint exists) and WQ_FEATURE_USB (the kernel has USB support).
 *	The global watch is refused only when neither is reported.
 *
 * Block errors (WQ_TYPE_BLOCK, struct wq_block_notification, 24 bytes)
 *	One record per failed request of a request-based block device (SCSI
 *	and ATA disks, NVMe, virtio-blk, MMC, null_blk, loop, ...), at the
 *	point where the kernel logs "<error> error, dev <disk>, sector <n>":
 *	requests that carry no data of the device (passthrough commands such
 *	as SG_IO), that asked to fail quietly (RQF_QUIET: e.g. I/O issued by
 *	the SCSI error handler itself) and requests of a disk being deleted
 *	are not reported, as in the kernel log.  dev is the whole disk's
 *	device number in the encoding stat(2) gives in st_rdev for the disk
 *	node (major(dev)/minor(dev) from <sys/sysmacros.h> work), also when
 *	the failing I/O was on a partition; sector is the first 512-byte
 *	sector of the failed request (of its part not yet completed, if the
 *	driver completed a part before), counted from the start of the whole
 *	disk: the sector the kernel log names.  The bad sector itself may be
 *	any sector of the request (a read of eight sectors whose fifth is bad
 *	is reported at the first).
 *	Stacked devices: device mapper targets over request-based disks
 *	(dm-linear, dm-crypt, ...) and md are bio-based and post nothing
 *	themselves; the failure is reported for the underlying disk (its dev
 *	and its sector on that disk).  The subtype says what failed
 *	(blk_status_t in the kernel):
 *	  WQ_BLOCK_ERROR_TIMEOUT		the device did not answer in time
 *	  WQ_BLOCK_ERROR_NO_SPACE		out of space (thin provisioning)
 *	  WQ_BLOCK_ERROR_RECOVERABLE_TRANSPORT	link/path failure, may work
 *						on another path or a retry
 *	  WQ_BLOCK_ERROR_CRITICAL_TARGET	the target rejected the command
 *	  WQ_BLOCK_ERROR_CRITICAL_NEXUS		reservation conflict
 *	  WQ_BLOCK_ERROR_CRITICAL_MEDIUM	unreadable/unwritable medium
 *	  WQ_BLOCK_ERROR_PROTECTION		integrity (T10 PI) check failed
 *	  WQ_BLOCK_ERROR_KERNEL_RESOURCE	the kernel ran out of resources
 *	  WQ_BLOCK_ERROR_DEVICE_RESOURCE	the device ran out of resources
 *	  WQ_BLOCK_ERROR_IO			any other I/O error
 *	Statuses the original series did not map (not supported, "try
 *	again", zone resources, offline, ...) post nothing.  Note that SCSI
 *	reports a command that timed out, once the error handler gives up on
 *	it, as WQ_BLOCK_ERROR_IO; TIMEOUT comes from drivers that complete a
 *	timed-out request with that status (e.g. null_blk).
 *
 * USB (WQ_TYPE_USB, struct wq_usb_notification, 24..80 bytes)
 *	Global device watch only.  name is the device's name as in
 *	/sys/bus/usb/devices ("1-1.2", "usb1" for a root hub) or, for bus
 *	events, "usb<busnum>"; name_len bytes, at most WQ_USB_MAX_NAME_LEN,
 *	not NUL-terminated; the record is offsetof(name) + name_len bytes
 *	rounded up to 8, the padding zero.  reserved is 0.  Subtypes:
 *	  WQ_USB_DEVICE_ADD	a device (root hubs included) was enumerated
 *				and is ready for its drivers
 *	  WQ_USB_DEVICE_REMOVE	a device is going away (unplugged, its port
 *				disabled, its bus removed)
 *	  WQ_USB_BUS_ADD	a host controller registered bus <busnum>
 *	  WQ_USB_BUS_REMOVE	the bus was unregistered
 *	  WQ_USB_DEVICE_RESET	a configured device was reset (USBDEVFS_RESET,
 *				a driver's recovery, a reset-resume); error is
 *				0, or the errno the reset failed with (the
 *				device is then disconnected)
 *	  WQ_USB_DEVICE_ERROR	the hub driver gave up enumerating a newly
 *				connected device ("unable to enumerate USB
 *				device" in the kernel log); name is the name
 *				the device would have had, error is 0
 *	Events need usbcore loaded (it may be loaded after the watch was
 *	added: the module attaches when it appears); while a global watch
 *	exists usbcore cannot be unloaded.  Reset and error events need
 *	kprobe targets (see the usb_hooks module parameter).
 *
 * Filesystem watches
 *	WQ_IOC_WATCH_SB: arg points to a struct wq_watch_sb.  fd is any open
 *	file or directory (not O_PATH: EBADF) on the filesystem to watch;
 *	opening it is the only permission needed to add the watch (no
 *	capability), so a process watches only filesystems it can reach.
 *	watch_id 0..255 adds a watch (EBUSY if this queue already watches
 *	that filesystem), -1 removes it given any file on the filesystem
 *	(EBADSLT if none), other values, non-zero flags or __reserved
 *	EINVAL.  EOPNOTSUPP if the kernel lacks the hooks (WQ_FEATURE_SB not
 *	reported).
 *
 *	What a watch sees depends on the credentials of the process that
 *	added it, as they were then (the watch keeps them; changing them
 *	later changes nothing, as for fanotify marks):
 *	- with CAP_SYS_ADMIN in the filesystem's user namespace (the initial
 *	  one for block-device filesystems; a container's for a filesystem
 *	  it mounted itself): every record;
 *	- without it, so that a container sees nothing of the host's files
 *	  and no user another user's:
 *	  . a record naming a file (WQ_SB_WRITEBACK_ERROR, WQ_SB_ERROR with a
 *	    non-zero ino) only if the file's owner (its uid on the
 *	    filesystem, before any idmapped mount) is the watcher's fsuid;
 *	  . WQ_SB_EDQUOT only for the watcher's own quota: a user quota of
 *	    its fsuid, a group quota of its fsgid or supplementary groups
 *	    (project quotas: never);
 *	  . filesystem-wide records, which name no file and tell what
 *	    statfs(2), /proc/self/mountinfo or ext4's error counters in
 *	    sysfs show anyway: WQ_SB_READONLY, WQ_SB_ENOSPC and WQ_SB_ERROR
 *	    with ino 0 (the filesystem failed, e.g. its journal: the
 *	    watcher's data is at stake too).
 *	Ids in records (WQ_SB_EDQUOT's) are numbered as in the watcher's
 *	user namespace; an id it does not map is given as the overflow id
 *	(/proc/sys/kernel/overflowuid or overflowgid, 65534), as stat(2)
 *	shows an unmapped owner.  Inode numbers are the filesystem's.
 *
 *	A filesystem is one superblock: all its mounts (bind mounts, other
 *	namespaces) share one watch.  Its records (WQ_TYPE_SUPERBLOCK) carry
 *	sb_id, the filesystem's device number as stat(2) gives it in st_dev
 *	for every file on it, and as the third field ("major:minor") of
 *	/proc/self/mountinfo: makedev(major, minor) of that field equals
 *	sb_id, which maps a record to the mounts of the filesystem.  When the
 *	filesystem shuts down (its last mount is gone) every watcher gets the
 *	16-byte removal record with sb_id and the watch is gone.  Records
 *	carry no path names and no file data.  Subtypes:
 *	  WQ_SB_WRITEBACK_ERROR	(struct wq_superblock_error_notification)
 *		the kernel recorded a write-back error against a file of the
 *		filesystem: the error that fsync() on that file would return
 *		(error: EIO, ENOSPC, EDQUOT, ...), ino its inode number.  Every
 *		such error is posted where the kernel records it, whether or
 *		not any process ever calls fsync() (background write-back).
 *	  WQ_SB_ERROR		(struct wq_superblock_error_notification)
 *		the filesystem detected and reported an error (corruption,
 *		journal failure, ...): error is the errno it gave (EUCLEAN,
 *		i.e. EFSCORRUPTED, when it gave none), ino the inode it named
 *		or 0.  ext4 on every supported kernel; from 7.0 every
 *		filesystem that reports through the kernel's fserror layer
 *		(ext4, XFS, f2fs, ...).  WQ_FEATURE_SB_FS_ERRORS says whether
 *		the hooks exist (before 7.0: once ext4, a module on the
 *		stock kernels, is loaded).
 *	  WQ_SB_READONLY	(struct wq_superblock_notification)
 *		the filesystem turned read-only (WQ_SB_IS_NOW_RO in info) or
 *		read-write: a remount, an emergency remount (sysrq u), or,
 *		with WQ_SB_EMERGENCY, ext4 stopping writes after an error
 *		(errors=remount-ro; from 6.11 ext4 then refuses writes
 *		without setting the read-only flag, reported the same way).
 *	  WQ_SB_ENOSPC		(struct wq_superblock_error_notification)
 *		ext4 failed an allocation for lack of space (error ENOSPC, ino
 *		0): at most one record per filesystem and second.
 *	  WQ_SB_EDQUOT		(struct wq_superblock_error_notification)
 *		a disk quota limit was reached (the kernel's quota warning):
 *		error EDQUOT, aux the warning (QUOTA_NL_* of <linux/quota.h>),
 *		ino the user, group or project id of the quota, in the
 *		watcher's user namespace (see above).
 *
 *	Delivery guarantee: records are posted synchronously at the point
 *	where the kernel records the error, before the failed write-back
 *	completes.  So when fsync() (or syncfs, msync, sync_file_range with
 *	wait) returns after waiting for the write-back that failed, its
 *	record is already in the queue, and draining the queue (or
 *	WQ_IOC_SYNC) leaves nothing about that error pending anywhere.  A
 *	record that did not fit is reported by a loss record, as always.
 *
 * Mount watches
 *	WQ_IOC_WATCH_MOUNT: arg points to a struct wq_watch_mount.  fd is an
 *	open directory (ENOTDIR otherwise, EBADF for O_PATH); the watch
 *	covers the mounts of the caller's mount namespace whose mount point
 *	is that directory or below it, as the caller sees the directory's
 *	path when the watch is added.  No capability is needed; a directory
 *	the caller cannot reach from its root (one of another mount
 *	namespace) gives EXDEV, so a process sees only mounts it can see in
 *	/proc/self/mountinfo.  watch_id 0..255 adds (EBUSY if this queue
 *	watches that directory already), -1 removes given the same directory
 *	(EBADSLT if none), other values, flags or __reserved EINVAL.  procfs
 *	must be mounted on /proc in the caller's namespace (ENOENT
 *	otherwise).
 *
 *	Records (WQ_TYPE_MOUNT, struct wq_mount_notification) name mounts by
 *	the mount ids of /proc/self/mountinfo's first field (statx's
 *	stx_mnt_id): auxiliary_mount is the mount attached, detached, moved
 *	or changed, triggered_on its parent mount (for MOVE_FROM the old
 *	one).  WQ_MOUNT_IN_SUBTREE is set when the mount point is below the
 *	watched directory rather than the directory itself.  Subtypes:
 *	WQ_MOUNT_NEW (WQ_MOUNT_IS_NOW_RO if it is read-only), WQ_MOUNT_UNMOUNT,
 *	WQ_MOUNT_MOVE_FROM (the old place was watched) and WQ_MOUNT_MOVE_TO
 *	(the new one is), WQ_MOUNT_READONLY (the mount or its filesystem
 *	turned read-only, WQ_MOUNT_IS_NOW_RO, or back), WQ_MOUNT_SETATTR
 *	(other per-mount attributes: nosuid, nodev, noexec, atime, ...).
 *	The module follows the mount table as mountinfo readers do: it is
 *	woken by every change to the namespace's mounts, reads the table and
 *	posts the differences, shortly after the change, in mount id
 *	order.  A mount attached and detached again before the module reads
 *	the table, or an attribute changed and changed back, yields no
 *	record; a mount detached and another attached elsewhere in between,
 *	which got the freed id and the same device and root, shows as a
 *	move; propagation changes (shared, slave) and mount expiry of their
 *	own are not reported (expiry shows as WQ_MOUNT_UNMOUNT).
 *	Removal posts the 8-byte removal record.
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
	WQ_TYPE_SUPERBLOCK = 4,	/* one filesystem's errors and state */
	WQ_TYPE_MOUNT	= 5,	/* mount topology and attributes */
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

/* WQ_TYPE_BLOCK: the original series' struct block_notification and subtypes */
enum wq_block_subtype {
	WQ_BLOCK_ERROR_TIMEOUT			= 1,
	WQ_BLOCK_ERROR_NO_SPACE			= 2,
	WQ_BLOCK_ERROR_RECOVERABLE_TRANSPORT	= 3,
	WQ_BLOCK_ERROR_CRITICAL_TARGET		= 4,
	WQ_BLOCK_ERROR_CRITICAL_NEXUS		= 5,
	WQ_BLOCK_ERROR_CRITICAL_MEDIUM		= 6,
	WQ_BLOCK_ERROR_PROTECTION		= 7,
	WQ_BLOCK_ERROR_KERNEL_RESOURCE		= 8,
	WQ_BLOCK_ERROR_DEVICE_RESOURCE		= 9,
	WQ_BLOCK_ERROR_IO			= 10,
};

struct wq_block_notification {
	struct wq_notification	watch;
	__u64			dev;	/* whole disk, st_rdev encoding */
	__u64			sector;	/* first sector of the failed request */
};

/* WQ_TYPE_USB: the original series' struct usb_notification (ver #4 subtypes) */
enum wq_usb_subtype {
	WQ_USB_DEVICE_ADD	= 0,
	WQ_USB_DEVICE_REMOVE	= 1,
	WQ_USB_BUS_ADD		= 2,
	WQ_USB_BUS_REMOVE	= 3,
	WQ_USB_DEVICE_RESET	= 4,
	WQ_USB_DEVICE_ERROR	= 5,
};

struct wq_usb_notification {
	struct wq_notification	watch;
	__u32			error;		/* errno, or 0 */
	__u32			reserved;	/* 0 */
	__u8			name_len;	/* bytes of name used */
	__u8			name[];		/* not NUL-terminated, zero padded */
};

#define WQ_USB_MAX_NAME_LEN	63

struct wq_watch_devices {
	__s32	watch_id;		/* 0..255 to add, -1 to remove */
	__u32	flags;			/* 0 */
	__s32	blk_fd;			/* -1: global device watch; else a block device */
	__u32	__reserved;		/* 0 */
};

/* WQ_TYPE_SUPERBLOCK: the 2020 series' superblock notifications, extended */
enum wq_superblock_subtype {
	WQ_SB_READONLY		= 0,	/* toggled read-only <-> read-write */
	WQ_SB_ERROR		= 1,	/* the filesystem reported an error */
	WQ_SB_EDQUOT		= 2,	/* a quota limit was exceeded */
	WQ_SB_WRITEBACK_ERROR	= 4,	/* a write-back error was recorded */
	WQ_SB_ENOSPC		= 5,	/* an allocation failed: out of space */
};

/* WQ_SB_READONLY: the filesystem is now read-only (else read-write) */
#define WQ_SB_IS_NOW_RO		0x00010000
/* WQ_SB_READONLY: forced by the filesystem after errors (emergency) */
#define WQ_SB_EMERGENCY		0x00020000

/* WQ_SB_READONLY: 16 bytes */
struct wq_superblock_notification {
	struct wq_notification	watch;
	__u64			sb_id;	/* st_dev of files on the filesystem */
};

/* WQ_SB_ERROR, WQ_SB_EDQUOT, WQ_SB_WRITEBACK_ERROR, WQ_SB_ENOSPC: 32 bytes */
struct wq_superblock_error_notification {
	struct wq_superblock_notification s;
	__u32			error;	/* positive errno */
	__u32			aux;	/* subtype-specific, see above */
	__u64			ino;	/* inode number, 0 if unknown */
};

/* WQ_TYPE_MOUNT: the 2020 series' mount notifications */
enum wq_mount_subtype {
	WQ_MOUNT_NEW		= 0,	/* a mount was attached */
	WQ_MOUNT_UNMOUNT	= 1,	/* a mount was detached */
	WQ_MOUNT_READONLY	= 3,	/* toggled read-only <-> read-write */
	WQ_MOUNT_SETATTR	= 4,	/* other mount attributes changed */
	WQ_MOUNT_MOVE_FROM	= 5,	/* a mount was moved away from here */
	WQ_MOUNT_MOVE_TO	= 6,	/* a mount was moved to here */
};

/* Not at the watched directory itself but below it */
#define WQ_MOUNT_IN_SUBTREE	0x00010000
/* WQ_MOUNT_READONLY, WQ_MOUNT_NEW: the mount is now read-only */
#define WQ_MOUNT_IS_NOW_RO	0x00020000

/* 24 bytes; ids are the mount ids of /proc/self/mountinfo's first field */
struct wq_mount_notification {
	struct wq_notification	watch;
	__u64			triggered_on;	/* parent of the changed mount */
	__u64			auxiliary_mount; /* the changed mount */
};

struct wq_watch_sb {
	__s32	fd;			/* any open file on the filesystem */
	__s32	watch_id;		/* 0..255 to add, -1 to remove */
	__u32	flags;			/* 0 */
	__u32	__reserved;		/* 0 */
};

struct wq_watch_mount {
	__s32	fd;			/* an open directory */
	__s32	watch_id;		/* 0..255 to add, -1 to remove */
	__u32	flags;			/* 0 */
	__u32	__reserved;		/* 0 */
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
#define WQ_FEATURE_BLOCK	(1ULL << 3)	/* block error records */
#define WQ_FEATURE_USB		(1ULL << 4)	/* USB records */
#define WQ_FEATURE_SB		(1ULL << 5)	/* WQ_IOC_WATCH_SB usable */
#define WQ_FEATURE_SB_FS_ERRORS	(1ULL << 6)	/* WQ_SB_ERROR can be seen */
#define WQ_FEATURE_MOUNT	(1ULL << 7)	/* WQ_IOC_WATCH_MOUNT usable */

/* Upstream's numbers and meanings */
#define WQ_IOC_SET_SIZE		_IO('W', 0x60)	/* arg: number of notes, 1..512 */
#define WQ_IOC_SET_FILTER	_IO('W', 0x61)	/* arg: struct wq_notification_filter * or NULL */
#define WQ_IOC_SYNC		_IO('W', 0x62)	/* keyutils' PIPE_IOC_SYNC */

/* Extensions ('W' 0x70-0x7f) */
#define WQ_IOC_SET_RING_BYTES	_IOW('W', 0x70, __u64)
#define WQ_IOC_GET_INFO		_IOWR('W', 0x71, struct wq_ring_info)
#define WQ_IOC_WATCH_KEY	_IOW('W', 0x72, struct wq_watch_key)
#define WQ_IOC_WATCH_DEVICES	_IOW('W', 0x73, struct wq_watch_devices)
#define WQ_IOC_WATCH_SB		_IOW('W', 0x74, struct wq_watch_sb)
#define WQ_IOC_WATCH_MOUNT	_IOW('W', 0x75, struct wq_watch_mount)

#define WQ_MAX_NOTES		512
#define WQ_NOTE_SIZE		128

#endif /* _UAPI_LINUX_WQ_DEV_H */
