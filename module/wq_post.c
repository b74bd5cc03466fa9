// SPDX-License-Identifier: GPL-2.0
/*
 * The posting path.  Runs in any context (process, softirq, hardirq), so it
 * never sleeps or allocates: one irq-safe spinlock per queue, a memcpy of
 * the record, and a wake-up deferred to irq_work only when someone waits.
 */
#include <linux/atomic.h>
#include <linux/export.h>
#include <linux/irq_work.h>
#include <linux/rcupdate.h>
#include <linux/wait.h>
#include "wq_filter.h"
#include "wq_post.h"
#include "wq_queue.h"
#include "wq_ring.h"

static u32 wq_record_len(const struct wq_notification *n)
{
	return n->info & WQ_INFO_LENGTH;
}

/* Insert the pending loss record if there is room; q->lock held. */
static bool wq_put_loss_locked(struct wq_queue *q, struct wq_ring *ring,
			       u64 room)
{
	struct wq_loss_notification loss = {
		.watch.type	= WQ_TYPE_META,
		.watch.subtype	= WQ_META_LOSS,
		.watch.info	= sizeof(loss),
	};

	if (room < sizeof(loss))
		return false;
	loss.count = q->pending_loss;
	wq_ring_write(ring, q->head, &loss, sizeof(loss));
	q->head += sizeof(loss);
	q->pending_loss = 0;
	return true;
}

static void wq_count_loss_locked(struct wq_queue *q, struct wq_ring *ring)
{
	q->pending_loss++;
	WRITE_ONCE(ring->prod->lost, ring->prod->lost + 1);
}

/*
 * A queue sized in notes holds at most rec_max records: forget the ones
 * the consumer has read (@tail, already checked), then say whether one
 * more fits.  Amortised O(1): each record is added and forgotten once.
 */
static bool wq_records_fit_locked(struct wq_queue *q, u64 tail)
{
	while (q->rec_count && q->rec_ends[q->rec_first] <= tail) {
		if (++q->rec_first == q->rec_max)
			q->rec_first = 0;
		q->rec_count--;
	}
	return q->rec_count < q->rec_max;
}

static void wq_records_add_locked(struct wq_queue *q)
{
	u32 slot = q->rec_first + q->rec_count;

	if (slot >= q->rec_max)
		slot -= q->rec_max;
	q->rec_ends[slot] = q->head;
	q->rec_count++;
}

/*
 * Write @n (or, with @n NULL, only a pending loss record) to the ring.
 * A pending loss record always goes first, so the reader meets it before
 * any record posted after the loss; if both do not fit, @n is lost too.
 */
static bool wq_queue_post_locked(struct wq_queue *q,
				 const struct wq_notification *n)
{
	struct wq_ring *ring = q->ring;
	u32 len = n ? wq_record_len(n) : 0;
	u32 need = len;
	u64 tail;
	s64 used;

	if (q->dead || !ring)
		return false;
	if (q->pending_loss)
		need += sizeof(struct wq_loss_notification);

	used = wq_ring_used(ring, q->head, &tail);
	/*
	 * Sized in notes: upstream marks the last record queued and read()
	 * makes the loss record up once that record has been read, so all
	 * the records lost between two that were queued give one loss record,
	 * between those two.  Write a pending loss record only ahead of the
	 * next record or into a ring whose every byte has been consumed;
	 * never on its own behind unread records (as a poll() or FIONREAD in
	 * the middle of a run of losses would), or the run would give two.
	 */
	if (!n && q->rec_max && used)
		return false;
	/* A loss record takes no note: upstream's is made up by read(). */
	if (used < 0 || ring->size - used < need ||
	    (n && q->rec_max && !wq_records_fit_locked(q, tail))) {
		if (n)
			wq_count_loss_locked(q, ring);
		return false;
	}
	if (q->pending_loss)
		wq_put_loss_locked(q, ring, ring->size - used);
	if (n) {
		wq_ring_write(ring, q->head, n, len);
		q->head += len;
		if (q->rec_max)
			wq_records_add_locked(q);
	}
	/* Pairs with the consumer's acquire load of head: data first. */
	smp_store_release(&ring->prod->head, q->head);
	return true;
}

static void wq_queue_kick(struct wq_queue *q)
{
	/*
	 * wq_has_sleeper() has the barrier that pairs with the one in
	 * prepare_to_wait()/poll_wait(): either the waiter sees the new head
	 * or we see the waiter.  The wake-up itself runs from irq_work, so no
	 * wait-queue lock is taken here, whatever context we post from, and
	 * a burst of posts costs one wake-up.
	 */
	if (wq_has_sleeper(&q->waitq))
		irq_work_queue(&q->wake_work);
}

bool wq_queue_post(struct wq_queue *q, const struct wq_notification *n)
{
	unsigned long flags;
	bool ok;

	if (WARN_ON_ONCE(wq_record_len(n) < sizeof(*n) ||
			 wq_record_len(n) > WQ_RECORD_MAX ||
			 wq_record_len(n) % WQ_RECORD_ALIGN))
		return false;

	raw_spin_lock_irqsave(&q->lock, flags);
	ok = wq_queue_post_locked(q, n);
	raw_spin_unlock_irqrestore(&q->lock, flags);
	if (ok)
		wq_queue_kick(q);
	return ok;
}

void wq_queue_flush_loss(struct wq_queue *q)
{
	unsigned long flags;

	if (!READ_ONCE(q->pending_loss))
		return;
	raw_spin_lock_irqsave(&q->lock, flags);
	if (q->pending_loss)
		wq_queue_post_locked(q, NULL);
	raw_spin_unlock_irqrestore(&q->lock, flags);
}

void wq_post_allowed(struct wq_watch_list *wlist, struct wq_notification *n,
		     u64 id, wq_watch_allow_t allow, void *data)
{
	const struct wq_filter *f;
	struct wq_watch *w;

	rcu_read_lock();
	hlist_for_each_entry_rcu(w, &wlist->watchers, list_node) {
		if (w->id != id)
			continue;
		n->info = (n->info & ~WQ_INFO_ID) | w->info_id;
		f = rcu_dereference(w->queue->filter);
		if (!wq_filter_match(f, n))
			continue;
		if (allow && !allow(w, n, data))
			continue;
		wq_queue_post(w->queue, n);
	}
	rcu_read_unlock();
}
EXPORT_SYMBOL_GPL(wq_post_allowed);

void wq_post(struct wq_watch_list *wlist, struct wq_notification *n, u64 id)
{
	wq_post_allowed(wlist, n, id, NULL, NULL);
}
EXPORT_SYMBOL_GPL(wq_post);

static atomic64_t wq_loss_stamps = ATOMIC64_INIT(0);

u64 wq_loss_stamp(void)
{
	return atomic64_inc_return(&wq_loss_stamps);
}

/* Count @lost records lost on @q, once per @stamp, and say so if it fits. */
static void wq_queue_lose(struct wq_queue *q, u64 lost, u64 stamp)
{
	unsigned long flags;
	bool ok = false;

	raw_spin_lock_irqsave(&q->lock, flags);
	if (!q->dead && q->ring && q->loss_stamp != stamp) {
		q->loss_stamp = stamp;
		q->pending_loss += lost;
		WRITE_ONCE(q->ring->prod->lost, q->ring->prod->lost + lost);
		ok = wq_queue_post_locked(q, NULL);
	}
	raw_spin_unlock_irqrestore(&q->lock, flags);
	if (ok)
		wq_queue_kick(q);
}

void wq_post_loss(struct wq_watch_list *wlist, u64 lost, u64 stamp)
{
	struct wq_watch *w;

	rcu_read_lock();
	hlist_for_each_entry_rcu(w, &wlist->watchers, list_node)
		wq_queue_lose(w->queue, lost, stamp);
	rcu_read_unlock();
}
