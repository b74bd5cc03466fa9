// SPDX-License-Identifier: GPL-2.0
/* The misc device /dev/watch_queue: one queue per open. */
#include <asm/ioctls.h>
#include <linux/fs.h>
#include <linux/miscdevice.h>
#include <linux/mm.h>
#include <linux/poll.h>
#include <linux/sched/signal.h>
#include <linux/uaccess.h>
#include "wq_dev.h"
#include "wq_filter.h"
#include "wq_post.h"
#include "wq_queue.h"
#include "wq_ring.h"
#include "wq_source.h"

static int wq_open(struct inode *inode, struct file *file)
{
	struct wq_queue *q = wq_queue_create();

	if (IS_ERR(q))
		return PTR_ERR(q);
	file->private_data = q;
	return stream_open(inode, file);
}

static int wq_release(struct inode *inode, struct file *file)
{
	wq_queue_release(file->private_data);
	return 0;
}

/* The ring once sized; it never changes afterwards. */
static struct wq_ring *wq_ring_of(struct wq_queue *q)
{
	/* Pairs with the release in wq_queue_size(): an initialised ring. */
	return smp_load_acquire(&q->ring);
}

/*
 * Bytes of whole records ready, or -EIO if the consumer position is
 * corrupt.  A pending loss record is written first if there is room.
 */
static s64 wq_ready(struct wq_queue *q, struct wq_ring *ring, u64 *tail)
{
	wq_queue_flush_loss(q);
	/* Acquire pairs with the producer's release: records before head. */
	return wq_ring_used(ring, smp_load_acquire(&ring->prod->head), tail);
}

static bool wq_readable(struct wq_queue *q)
{
	struct wq_ring *ring = wq_ring_of(q);
	u64 tail;

	return ring && wq_ready(q, ring, &tail) != 0;
}

/* Whole records from @tail fitting in @count bytes, at most @avail. */
static ssize_t wq_whole_records(struct wq_ring *ring, u64 tail, size_t avail,
				size_t count)
{
	const struct wq_notification *n;
	size_t len, done = 0;

	while (done < avail) {
		n = ring->data + ((tail + done) & (ring->size - 1));
		len = READ_ONCE(n->info) & WQ_INFO_LENGTH;
		/* Only the consumer's own bad tail can land mid-record. */
		if (len < sizeof(*n) || len % WQ_RECORD_ALIGN ||
		    len > avail - done)
			return done ? done : -EIO;
		if (done + len > count)
			break;
		done += len;
	}
	return done;
}

static ssize_t wq_read_once(struct wq_queue *q, struct wq_ring *ring,
			    char __user *buf, size_t count)
{
	ssize_t used, n;
	u64 tail;

	used = wq_ready(q, ring, &tail);
	if (used <= 0)
		return used ? used : -EAGAIN;
	n = wq_whole_records(ring, tail, used, count);
	if (n < 0)
		return n;
	if (n == 0)
		return -ENOBUFS;
	/* Double mapping: the bytes are contiguous even across the end. */
	if (copy_to_user(buf, ring->data + (tail & (ring->size - 1)), n))
		return -EFAULT;
	/* Release: done reading before the producer may reuse the space. */
	smp_store_release(&ring->cons->tail, tail + n);
	if (wq_has_sleeper(&q->syncq))
		wake_up_all(&q->syncq);
	return n;
}

static ssize_t wq_read(struct file *file, char __user *buf, size_t count,
		       loff_t *ppos)
{
	struct wq_queue *q = file->private_data;
	struct wq_ring *ring;
	ssize_t ret;

	for (;;) {
		ring = wq_ring_of(q);
		if (ring) {
			/*
			 * The copy to user space may sleep for good (a FUSE
			 * mapping as the buffer): only the queue's other
			 * readers wait for this lock, and they can be killed.
			 */
			if (mutex_lock_killable(&q->read_mutex))
				return -EINTR;
			ret = wq_read_once(q, ring, buf, count);
			mutex_unlock(&q->read_mutex);
			if (ret != -EAGAIN)
				return ret;
		}
		if (file->f_flags & O_NONBLOCK)
			return -EAGAIN;
		if (wait_event_interruptible(q->waitq, wq_readable(q)))
			return -ERESTARTSYS;
	}
}

/* Like upstream notification pipes: nothing may be written in. */
static ssize_t wq_write(struct file *file, const char __user *buf,
			size_t count, loff_t *ppos)
{
	return -EXDEV;
}

static ssize_t wq_splice_read(struct file *in, loff_t *ppos,
			      struct pipe_inode_info *pipe, size_t len,
			      unsigned int flags)
{
	return -EXDEV;
}

static ssize_t wq_splice_write(struct pipe_inode_info *pipe, struct file *out,
			       loff_t *ppos, size_t len, unsigned int flags)
{
	return -EXDEV;
}

static __poll_t wq_poll(struct file *file, struct poll_table_struct *wait)
{
	struct wq_queue *q = file->private_data;
	struct wq_ring *ring;
	s64 used;
	u64 tail;

	poll_wait(file, &q->waitq, wait);
	/*
	 * Pairs with the barrier in wq_has_sleeper() in the posting path:
	 * either we see the new head or the poster sees us on the queue.
	 */
	smp_mb();
	ring = wq_ring_of(q);
	if (!ring)
		return 0;
	/* An mmap consumer advances without telling us: wake sync waiters. */
	if (wq_has_sleeper(&q->syncq))
		wake_up_all(&q->syncq);
	used = wq_ready(q, ring, &tail);
	if (used < 0)
		return EPOLLERR;
	return used ? EPOLLIN | EPOLLRDNORM : 0;
}

static bool wq_consumed(struct wq_ring *ring, u64 target)
{
	return (s64)(READ_ONCE(ring->cons->tail) - target) >= 0;
}

/*
 * WQ_IOC_SYNC: wait until everything posted so far has been consumed.  An
 * mmap consumer does not enter the kernel when it advances, so besides the
 * wake-ups from read() and poll() the position is re-checked every tick.
 */
static long wq_sync(struct wq_queue *q)
{
	struct wq_ring *ring = wq_ring_of(q);
	u64 target;
	long ret;

	/*
	 * Hooks still running on other CPUs run with preemption disabled, so
	 * they are RCU readers: once they are done, what they posted counts
	 * as posted before this call (say, a write-back error recorded just
	 * before an fsync() that saw it returned).
	 */
	synchronize_rcu();
	if (!ring)
		return 0;
	/* Everything published before this point must be consumed. */
	target = smp_load_acquire(&ring->prod->head);
	while (!wq_consumed(ring, target)) {
		ret = wait_event_interruptible_timeout(q->syncq,
				wq_consumed(ring, target), 1);
		if (ret < 0)
			return ret;
	}
	return 0;
}

static long wq_get_info(struct wq_queue *q, void __user *arg)
{
	struct wq_ring *ring = wq_ring_of(q);
	struct wq_ring_info info;
	u32 usize;

	if (get_user(usize, (u32 __user *)arg))
		return -EFAULT;
	if (usize < sizeof(info))
		return -EINVAL;

	memset(&info, 0, sizeof(info));
	info.size = sizeof(info);
	info.abi_version = WQ_ABI_VERSION;
	info.features = WQ_FEATURE_MMAP | WQ_FEATURE_SYNC |
			 wq_sources_features();
	info.consumer_off = (u64)WQ_PGOFF_CONSUMER << PAGE_SHIFT;
	info.producer_off = (u64)WQ_PGOFF_PRODUCER << PAGE_SHIFT;
	info.data_off = PAGE_SIZE;
	if (ring) {
		info.data_size = ring->size;
		info.producer_len = PAGE_SIZE + 2 * ring->size;
		info.lost = READ_ONCE(ring->prod->lost);
	}
	return copy_to_user(arg, &info, sizeof(info)) ? -EFAULT : 0;
}

static long wq_fionread(struct wq_queue *q, int __user *arg)
{
	struct wq_ring *ring = wq_ring_of(q);
	s64 used = 0;
	u64 tail;

	if (ring) {
		used = wq_ready(q, ring, &tail);
		if (used < 0)
			return used;
	}
	return put_user((int)min_t(s64, used, INT_MAX), arg);
}

/*
 * A watch about to be added sizes an unsized queue (wq_watch_alloc()).
 * Do that here, before the source takes the mutex that every user's
 * watches of that source need, so that the ring's allocation and memcg
 * charge never happen under it.  Only a hint: the source reads the request
 * again and decides, and if it changed meanwhile, wq_watch_alloc() sizes
 * the queue itself, still without a sleeping lock of the queue.  Errors
 * are left to the source, to be reported in their usual order.
 */
static void wq_watch_presize(struct wq_queue *q, const void __user *arg,
			     size_t watch_id_off)
{
	s32 watch_id;

	if (wq_ring_of(q) ||
	    get_user(watch_id, (const s32 __user *)(arg + watch_id_off)))
		return;
	if (watch_id >= 0 && watch_id <= 0xff)
		wq_queue_size_default(q);
}

static long wq_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	struct wq_queue *q = file->private_data;
	void __user *uarg = (void __user *)arg;
	const struct wq_source *src;
	u64 bytes;

	switch (cmd) {
	case WQ_IOC_SET_SIZE:
		if (arg < 1 || arg > WQ_MAX_NOTES)
			return -EINVAL;
		return wq_queue_size_notes(q, arg);
	case WQ_IOC_SET_RING_BYTES:
		if (get_user(bytes, (u64 __user *)uarg))
			return -EFAULT;
		if (!bytes)
			return -EINVAL;
		return wq_queue_size(q, bytes);
	case WQ_IOC_SET_FILTER:
		return wq_filter_set(q, uarg);
	case WQ_IOC_SYNC:
		return wq_sync(q);
	case WQ_IOC_GET_INFO:
		return wq_get_info(q, uarg);
	case FIONREAD:
		return wq_fionread(q, uarg);
	}
	/* A source's watch ioctl. */
	src = wq_source_for_cmd(cmd);
	if (!src)
		return -ENOTTY;
	wq_watch_presize(q, uarg, src->watch_id_off);
	return src->watch(q, uarg);
}

static int wq_mmap(struct file *file, struct vm_area_struct *vma)
{
	struct wq_ring *ring = wq_ring_of(file->private_data);

	if (!ring)
		return -ENODATA;
	return wq_ring_mmap(ring, vma);
}

const struct file_operations wq_fops = {
	.owner		= THIS_MODULE,
	.open		= wq_open,
	.release	= wq_release,
	.read		= wq_read,
	.write		= wq_write,
	.splice_read	= wq_splice_read,
	.splice_write	= wq_splice_write,
	.poll		= wq_poll,
	.unlocked_ioctl	= wq_ioctl,
	.compat_ioctl	= compat_ptr_ioctl,
	.mmap		= wq_mmap,
};

static struct miscdevice wq_miscdev = {
	.minor	= MISC_DYNAMIC_MINOR,
	.name	= "watch_queue",
	.fops	= &wq_fops,
	.mode	= 0666,
};

int wq_dev_init(void)
{
	return misc_register(&wq_miscdev);
}

void wq_dev_exit(void)
{
	misc_deregister(&wq_miscdev);
}
