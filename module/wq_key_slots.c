// SPDX-License-Identifier: GPL-2.0
/* Per-task frames and waiting links for the key hooks (see wq_key_slots.h). */
#include <linux/atomic.h>
#include <linux/hashtable.h>
#include <linux/sched.h>
#include <linux/spinlock.h>
#include "wq_key_slots.h"

#define WQ_KEY_FRAME_BITS	6

/* Frames by task; irq-safe, as kprobe handlers may run with irqs off. */
static DEFINE_HASHTABLE(wq_key_frames, WQ_KEY_FRAME_BITS);
static DEFINE_RAW_SPINLOCK(wq_key_frames_lock);
/* Frames pushed and not popped: lets lookups skip the lock when 0. */
atomic_t wq_key_frames_used = ATOMIC_INIT(0);
/*
 * Resets so far, under the lock: a frame pushed before the last reset is
 * no longer on any list, and its instance may be gone with the probe.
 */
static unsigned long wq_key_frames_gen;
/*
 * Frames are linked only while open: from after the hooks are armed to
 * before they are disarmed.  Closing unlinks them all at once, before any
 * instance they live in can be freed, and whatever the kprobes core does
 * with handlers still running while a probe goes, nothing is linked again
 * or found until the next arming is complete.
 */
static bool wq_key_frames_open;

void wq_key_frame_push(struct wq_key_frame *f, enum wq_key_op op)
{
	unsigned long flags;

	f->op = op;
	raw_spin_lock_irqsave(&wq_key_frames_lock, flags);
	if (!wq_key_frames_open) {
		raw_spin_unlock_irqrestore(&wq_key_frames_lock, flags);
		return;
	}
	f->task = current;
	f->gen = wq_key_frames_gen;
	/* At the head: the innermost of a task's frames is found first. */
	hash_add(wq_key_frames, &f->node, (unsigned long)current);
	atomic_inc(&wq_key_frames_used);
	raw_spin_unlock_irqrestore(&wq_key_frames_lock, flags);
}

void wq_key_frame_pop(struct wq_key_frame *f)
{
	unsigned long flags;

	if (!f->task)
		return;
	raw_spin_lock_irqsave(&wq_key_frames_lock, flags);
	if (f->gen == wq_key_frames_gen) {
		hash_del(&f->node);
		atomic_dec(&wq_key_frames_used);
	}
	raw_spin_unlock_irqrestore(&wq_key_frames_lock, flags);
	f->task = NULL;
}

struct wq_key_frame *wq_key_frame_current(enum wq_key_op op)
{
	struct wq_key_frame *f, *found = NULL;
	unsigned long flags;

	if (!wq_key_frames_any())
		return NULL;
	raw_spin_lock_irqsave(&wq_key_frames_lock, flags);
	if (!wq_key_frames_open) {
		raw_spin_unlock_irqrestore(&wq_key_frames_lock, flags);
		return NULL;
	}
	hash_for_each_possible(wq_key_frames, f, node,
			       (unsigned long)current) {
		if (f->task == current && f->op == op) {
			found = f;
			break;
		}
	}
	raw_spin_unlock_irqrestore(&wq_key_frames_lock, flags);
	return found;
}

/*
 * Waiting links, under wq_key_frames_lock.  A slot is held from the entry
 * of __key_link() to the entry of __key_link_end() or the task's next
 * record: as many as tasks linking into watched keyrings at that moment,
 * each holding that keyring's semaphore.
 */
#define WQ_KEY_LINKS	64
static struct wq_key_link wq_key_links[WQ_KEY_LINKS];
/* Slots in use: lets wq_key_link_take() skip the lock when 0. */
atomic_t wq_key_links_used = ATOMIC_INIT(0);

bool wq_key_link_defer(key_serial_t keyring, key_serial_t key)
{
	struct wq_key_link *l;
	unsigned long flags;
	bool deferred = false;

	raw_spin_lock_irqsave(&wq_key_frames_lock, flags);
	if (!wq_key_frames_open)
		goto out;
	for (l = wq_key_links; l < wq_key_links + WQ_KEY_LINKS; l++) {
		if (!l->task) {
			l->task = current;
			l->keyring = keyring;
			l->key = key;
			atomic_inc(&wq_key_links_used);
			deferred = true;
			break;
		}
	}
out:
	raw_spin_unlock_irqrestore(&wq_key_frames_lock, flags);
	return deferred;
}

bool wq_key_link_take(struct wq_key_link *taken)
{
	struct wq_key_link *l;
	unsigned long flags;
	bool found = false;

	if (!wq_key_links_any())
		return false;
	raw_spin_lock_irqsave(&wq_key_frames_lock, flags);
	for (l = wq_key_links; l < wq_key_links + WQ_KEY_LINKS; l++) {
		if (l->task == current) {
			*taken = *l;
			l->task = NULL;
			atomic_dec(&wq_key_links_used);
			found = true;
			break;
		}
	}
	raw_spin_unlock_irqrestore(&wq_key_frames_lock, flags);
	return found;
}

void wq_key_frames_set_open(bool open)
{
	unsigned long flags;

	raw_spin_lock_irqsave(&wq_key_frames_lock, flags);
	hash_init(wq_key_frames);
	memset(wq_key_links, 0, sizeof(wq_key_links));
	atomic_set(&wq_key_links_used, 0);
	wq_key_frames_gen++;
	atomic_set(&wq_key_frames_used, 0);
	wq_key_frames_open = open;
	raw_spin_unlock_irqrestore(&wq_key_frames_lock, flags);
}
