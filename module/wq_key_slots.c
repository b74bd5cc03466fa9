// SPDX-License-Identifier: GPL-2.0
/* Per-task slots for the key hooks (see wq_key_slots.h). */
#include <linux/atomic.h>
#include <linux/sched.h>
#include <linux/spinlock.h>
#include <linux/string.h>
#include "wq_key_slots.h"

/* Concurrent key operations in flight, not tasks: small is enough. */
#define WQ_KEY_SLOTS	128

static struct wq_key_slot wq_key_slots[WQ_KEY_SLOTS];
static atomic_t wq_key_slots_used = ATOMIC_INIT(0);
static DEFINE_RAW_SPINLOCK(wq_key_slots_lock);

int wq_key_slot_claim(enum wq_key_op op)
{
	unsigned long flags;
	int i;

	raw_spin_lock_irqsave(&wq_key_slots_lock, flags);
	for (i = 0; i < WQ_KEY_SLOTS; i++) {
		if (!wq_key_slots[i].task) {
			wq_key_slots[i] = (struct wq_key_slot){
				.task = current, .op = op,
			};
			atomic_inc(&wq_key_slots_used);
			break;
		}
	}
	raw_spin_unlock_irqrestore(&wq_key_slots_lock, flags);
	return i < WQ_KEY_SLOTS ? i : -1;
}

struct wq_key_slot *wq_key_slot(int idx)
{
	return idx >= 0 ? &wq_key_slots[idx] : NULL;
}

void wq_key_slot_release(int idx)
{
	unsigned long flags;

	if (idx < 0)
		return;
	raw_spin_lock_irqsave(&wq_key_slots_lock, flags);
	wq_key_slots[idx].task = NULL;
	atomic_dec(&wq_key_slots_used);
	raw_spin_unlock_irqrestore(&wq_key_slots_lock, flags);
}

struct wq_key_slot *wq_key_slot_current(enum wq_key_op op)
{
	struct wq_key_slot *found = NULL;
	unsigned long flags;
	int i;

	if (!atomic_read(&wq_key_slots_used))
		return NULL;
	raw_spin_lock_irqsave(&wq_key_slots_lock, flags);
	for (i = 0; i < WQ_KEY_SLOTS; i++) {
		if (wq_key_slots[i].task == current &&
		    wq_key_slots[i].op == op) {
			found = &wq_key_slots[i];
			break;
		}
	}
	raw_spin_unlock_irqrestore(&wq_key_slots_lock, flags);
	return found;
}

void wq_key_slots_reset(void)
{
	unsigned long flags;

	raw_spin_lock_irqsave(&wq_key_slots_lock, flags);
	memset(wq_key_slots, 0, sizeof(wq_key_slots));
	atomic_set(&wq_key_slots_used, 0);
	raw_spin_unlock_irqrestore(&wq_key_slots_lock, flags);
}
