// SPDX-License-Identifier: GPL-2.0
/* Queue lifetime and sizing. */
#include <linux/file.h>
#include <linux/log2.h>
#include <linux/memcontrol.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>
#include "compat/wq_compat_memcg.h"
#include "wq_filter.h"
#include "wq_dev.h"
#include "wq_limits.h"
#include "wq_main.h"
#include "wq_queue.h"
#include "wq_ring.h"
#include "wq_user.h"

static void wq_queue_wake_work(struct irq_work *work)
{
	struct wq_queue *q = container_of(work, struct wq_queue, wake_work);

	wake_up_all(&q->waitq);
}

struct wq_queue *wq_queue_create(void)
{
	struct wq_queue *q;
	int ret;

	q = kzalloc(sizeof(*q), GFP_KERNEL_ACCOUNT);
	if (!q)
		return ERR_PTR(-ENOMEM);
	q->user = wq_user_get();
	if (!q->user) {
		kfree(q);
		return ERR_PTR(-ENOMEM);
	}
	ret = wq_user_charge_queue(q->user);
	if (ret) {
		wq_user_put(q->user);
		kfree(q);
		return ERR_PTR(ret);
	}
	raw_spin_lock_init(&q->lock);
	INIT_HLIST_HEAD(&q->watches);
	mutex_init(&q->read_mutex);
	init_waitqueue_head(&q->waitq);
	init_waitqueue_head(&q->syncq);
	init_irq_work(&q->wake_work, wq_queue_wake_work);
	refcount_set(&q->ref, 1);
	if (current->mm)
		q->memcg = get_mem_cgroup_from_mm(current->mm);
	return q;
}

/* Process context, after the last watch is gone and a grace period. */
static void wq_queue_free_work(struct work_struct *work)
{
	struct wq_queue *q = container_of(to_rcu_work(work), struct wq_queue,
					  free_work);

	irq_work_sync(&q->wake_work);
	if (q->ring) {
		wq_user_uncharge_ring(q->user, q->ring->size);
		wq_ring_free(q->ring);
	}
	kfree(q->rec_ends);
	wq_filter_free(q);
	wq_user_uncharge_queue(q->user);
	wq_user_put(q->user);
	mem_cgroup_put(q->memcg);
	mutex_destroy(&q->read_mutex);
	kfree(q);
}

void wq_queue_put(struct wq_queue *q)
{
	/*
	 * The last reference may go in an RCU callback; freeing needs process
	 * context (vunmap) and a grace period after the last poster that
	 * could have found this queue through a watch.
	 */
	if (refcount_dec_and_test(&q->ref)) {
		INIT_RCU_WORK(&q->free_work, wq_queue_free_work);
		queue_rcu_work(wq_workqueue, &q->free_work);
	}
}
EXPORT_SYMBOL_GPL(wq_queue_put);

struct wq_queue *wq_queue_get(int fd)
{
	struct wq_queue *q;
	struct file *file;

	file = fget(fd);
	if (!file)
		return ERR_PTR(-EBADF);
	if (file->f_op != &wq_fops) {
		fput(file);
		return ERR_PTR(-EINVAL);
	}
	q = file->private_data;
	refcount_inc(&q->ref);
	fput(file);
	return q;
}
EXPORT_SYMBOL_GPL(wq_queue_get);

/* The file is closing: refuse further posts and watches, drop watches. */
void wq_queue_release(struct wq_queue *q)
{
	raw_spin_lock_irq(&q->lock);
	q->dead = true;
	raw_spin_unlock_irq(&q->lock);
	wq_queue_clear_watches(q);
	wq_queue_put(q);
}

static int wq_queue_ring_bytes(u64 bytes, u64 *size)
{
	u64 max = READ_ONCE(wq_max_ring_bytes);

	if (!bytes)
		bytes = READ_ONCE(wq_default_ring_bytes);
	if (bytes > max || bytes > (1ULL << 40))
		return -EINVAL;
	bytes = max_t(u64, bytes, PAGE_SIZE);
	bytes = roundup_pow_of_two(bytes);
	if (bytes > max)
		return -EINVAL;
	*size = bytes;
	return 0;
}

/* @rec_max records at most (0: no limit but the bytes). */
static int wq_queue_size_records(struct wq_queue *q, u64 bytes, u32 rec_max)
{
	struct mem_cgroup *old_memcg;
	struct wq_ring *ring;
	u64 *rec_ends = NULL;
	bool won = false;
	u64 size;
	int ret;

	ret = wq_queue_ring_bytes(bytes, &size);
	if (ret)
		return ret;
	if (READ_ONCE(q->ring))
		return -EBUSY;
	ret = wq_user_charge_ring(q->user, size);
	if (ret)
		return ret;

	/* Charge the opener's memory cgroup, whoever sizes the queue. */
	old_memcg = wq_set_active_memcg(q->memcg);
	ring = wq_ring_alloc(size);
	if (ring && rec_max) {
		rec_ends = kcalloc(rec_max, sizeof(*rec_ends),
				   GFP_KERNEL_ACCOUNT);
		if (!rec_ends) {
			wq_ring_free(ring);
			ring = NULL;
		}
	}
	wq_set_active_memcg(old_memcg);
	if (!ring) {
		wq_user_uncharge_ring(q->user, size);
		return -ENOMEM;
	}
	/*
	 * No mutex around the allocation: this runs under sources' mutexes
	 * (a watch sizes an unsized queue), which must never wait for a lock
	 * of one queue.  Racing sizers each allocate; the first to get here
	 * installs its ring, the others give theirs back.
	 */
	raw_spin_lock_irq(&q->lock);
	if (!q->ring) {
		q->rec_ends = rec_ends;
		q->rec_max = rec_max;
		/* Pairs with wq_ring_of(): an initialised ring, lock or not. */
		smp_store_release(&q->ring, ring);
		won = true;
	}
	raw_spin_unlock_irq(&q->lock);
	if (won)
		return 0;
	wq_user_uncharge_ring(q->user, size);
	wq_ring_free(ring);
	kfree(rec_ends);
	return -EBUSY;
}

int wq_queue_size_default(struct wq_queue *q)
{
	int ret;

	if (READ_ONCE(q->ring))
		return 0;
	ret = wq_queue_size(q, 0);
	return ret == -EBUSY ? 0 : ret;
}

int wq_queue_size(struct wq_queue *q, u64 bytes)
{
	return wq_queue_size_records(q, bytes, 0);
}

/*
 * Upstream allocates whole pages of 128-byte notes, rounding the count up
 * to a page's worth (32 on 4 KiB pages), and each record takes one note
 * whatever its size: hold exactly as many records, and report loss where
 * upstream's queue would.  Only the record count may ever refuse a record,
 * so the ring's bytes hold that many records of the largest size, each
 * behind a loss record, and one loss record more: a queue sized in notes
 * writes a pending loss record only ahead of a record or into an empty
 * ring (wq_post.c).
 */
int wq_queue_size_notes(struct wq_queue *q, unsigned long notes)
{
	u32 rec_max = roundup(notes, PAGE_SIZE / WQ_NOTE_SIZE);
	u64 loss = sizeof(struct wq_loss_notification);

	return wq_queue_size_records(q, rec_max * (WQ_RECORD_MAX + loss) + loss,
				     rec_max);
}
