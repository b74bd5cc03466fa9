/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What a task is in the middle of, for the key hooks: an outer probe's
 * entry pushes a frame for the current task, probes on functions it calls
 * find it, and the outer return pops it.  A frame lives in the outer
 * kretprobe instance's own data (ri->data), so there are as many as the
 * probes have instances: nothing global to run out of.  Only the owning
 * task touches a frame's fields; the lock guards pushing, popping and
 * finding.
 */
#ifndef _WQ_KEY_SLOTS_H
#define _WQ_KEY_SLOTS_H

#include <linux/key.h>
#include <linux/list.h>

enum wq_key_op {
	WQ_KEY_OP_INSTANTIATE,		/* __key_instantiate_and_link */
	WQ_KEY_OP_REJECT,		/* key_reject_and_link */
	WQ_KEY_OP_CREATE_OR_UPDATE,	/* add_key() on an existing key */
	WQ_KEY_OP_MOVE,			/* key_move */
	WQ_KEY_OP_SETATTR,		/* keyctl_chown_key, keyctl_setperm_key */
	WQ_KEY_OP_REVOKE,		/* key_revoke */
	WQ_KEY_OP_INVALIDATE,		/* key_invalidate */
};

struct wq_key_frame {
	struct hlist_node	node;		/* wq_key_frames, under its lock */
	struct task_struct	*task;		/* NULL: never pushed */
	unsigned long		gen;		/* wq_key_frames_reset() count */
	enum wq_key_op		op;
	const struct key	*key;		/* the key acted on, if known */
	key_serial_t		serial;		/* its serial, 0 if not known */
	key_serial_t		from;		/* key_move: source keyring */
	key_serial_t		id;		/* chown/setperm: the id given */
	u32			aux;
	bool			done;		/* its record is already posted */
};

/*
 * @f (zeroed) becomes the current task's innermost frame for @op; while the
 * frames are closed, it stays unlinked (not pushed).
 */
void wq_key_frame_push(struct wq_key_frame *f, enum wq_key_op op);
/* Forget @f; nothing if it was never pushed or the frames were closed since. */
void wq_key_frame_pop(struct wq_key_frame *f);
/*
 * Forget every frame, and link new ones (@open) or not: closed before the
 * hooks are disarmed (no return handler will pop the frames, and the
 * instances they live in are freed with the probes), opened once they are
 * all armed.  Closed at load.
 */
void wq_key_frames_set_open(bool open);
/* The current task's innermost frame for @op, or NULL. */
struct wq_key_frame *wq_key_frame_current(enum wq_key_op op);

#endif /* _WQ_KEY_SLOTS_H */
