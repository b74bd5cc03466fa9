/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What a task is in the middle of, for the key hooks: an outer probe
 * claims a slot for the current task, probes on functions it calls find
 * it, and the outer return releases it.  Only the owning task touches a
 * slot's fields; the lock guards claiming and finding.
 */
#ifndef _WQ_KEY_SLOTS_H
#define _WQ_KEY_SLOTS_H

#include <linux/key.h>

enum wq_key_op {
	WQ_KEY_OP_INSTANTIATE,		/* __key_instantiate_and_link */
	WQ_KEY_OP_REJECT,		/* key_reject_and_link */
	WQ_KEY_OP_CREATE_OR_UPDATE,	/* add_key() on an existing key */
	WQ_KEY_OP_MOVE,			/* key_move */
	WQ_KEY_OP_SETATTR,		/* keyctl_chown_key, keyctl_setperm_key */
	WQ_KEY_OP_REVOKE,		/* key_revoke */
	WQ_KEY_OP_INVALIDATE,		/* key_invalidate */
};

struct wq_key_slot {
	struct task_struct	*task;		/* NULL: free */
	enum wq_key_op		op;
	const struct key	*key;		/* the key acted on, if known */
	key_serial_t		serial;		/* its serial, 0 if not known */
	key_serial_t		from;		/* key_move: source keyring */
	key_serial_t		id;		/* chown/setperm: the id given */
	u32			aux;
	bool			done;		/* its record is already posted */
};

/* Slot index for the current task, or -1 if all are busy. */
int wq_key_slot_claim(enum wq_key_op op);
struct wq_key_slot *wq_key_slot(int idx);
void wq_key_slot_release(int idx);
/* Forget every claim: after disarming, no return handler will run. */
void wq_key_slots_reset(void);
/* The current task's slot for @op, or NULL. */
struct wq_key_slot *wq_key_slot_current(enum wq_key_op op);

#endif /* _WQ_KEY_SLOTS_H */
