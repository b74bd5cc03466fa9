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

#include <linux/atomic.h>
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

/*
 * Whether any task has a frame (or a waiting link, below), for the hot
 * paths to skip the calls.  A task's own frames and links are its own
 * stores, so it never misses one of them; other tasks' do not matter.
 */
extern atomic_t wq_key_frames_used;
static inline bool wq_key_frames_any(void)
{
	return atomic_read(&wq_key_frames_used);
}

/*
 * Links whose records wait for the link to be visible.  Upstream posts
 * LINKED at the end of __key_link(), after the keyring's edit is applied;
 * the entry of __key_link() knows the link, the entry of __key_link_end()
 * (still under the keyring's semaphore) comes after the edit.  A task has
 * at most one link between the two.  A record the task posts in between
 * (key_invalidate() of the authorisation key, when a key is instantiated)
 * goes after the link's, as upstream's does: wq_key_notify() posts the
 * task's waiting link first.
 */
struct wq_key_link {
	struct task_struct	*task;		/* NULL: a free slot */
	key_serial_t		keyring;
	key_serial_t		key;
};

/*
 * The current task linked @key into @keyring: false if no slot is free or
 * the frames are closed (then the caller posts at once).
 */
bool wq_key_link_defer(key_serial_t keyring, key_serial_t key);
/* Takes the current task's waiting link into @l: false if none. */
bool wq_key_link_take(struct wq_key_link *l);

extern atomic_t wq_key_links_used;
static inline bool wq_key_links_any(void)
{
	return atomic_read(&wq_key_links_used);
}

#endif /* _WQ_KEY_SLOTS_H */
