// SPDX-License-Identifier: GPL-2.0
/*
 * Kprobes at the places upstream calls notify_key() (security/keys/), by
 * symbol name only.  Functions upstream notifies from that are inlined on
 * the stock kernels (__key_unlink, __key_update) are covered from their
 * callers: key_unlink and key_move; key_update and add_key's update path
 * (find_key_to_update inside [__]key_create_or_update).  Which targets
 * exist is checked at load and shown in /sys/module/watch_queue/parameters/
 * key_hooks.
 *
 * Return probes post after the change is made, as upstream does; the
 * caller holds a reference to every key a handler reads, and handlers run
 * with preemption disabled, so they only read the key and post.
 *
 * Loss is never silent: a call a probe misses (all its return instances
 * in use: nmissed; or a probe hit inside another probe's handler:
 * kp.nmissed) may have been about any watched key, so every queue watching
 * keys is told it lost a record (wq_keys_lost()).  Each miss is seen by the
 * next handler of the same probe; for a kretprobe out of instances that is
 * one of the calls holding them, when it returns.
 */
#include <keys/request_key_auth-type.h>
#include <linux/cred.h>
#include <linux/key.h>
#include <linux/kprobes.h>
#include <linux/moduleparam.h>
#include <linux/ptrace.h>
#include <linux/string.h>
#include <uapi/linux/keyctl.h>
#include "compat/wq_compat_keys.h"
#include "wq_hooks.h"
#include "wq_key_hooks.h"
#include "wq_key_slots.h"
#include "wq_keys.h"

/*
 * Return instances per hook: calls of one hooked function in progress at
 * once (any user's, e.g. add_key()s waiting for a key under construction).
 * Past that the probe misses calls, reported as loss.  Allocated while the
 * hooks are armed; the kprobes core refuses more than 4096.  256 each (4096
 * instances for the 16 hooks) covers the 200 blocked calls the keys suite
 * makes; 1024 each stalled the whole debug kernel (KASAN, kmemleak) for tens
 * of seconds under the stress suite.
 */
static unsigned int wq_key_maxactive = 256;
module_param_named(key_hooks_maxactive, wq_key_maxactive, uint, 0644);
MODULE_PARM_DESC(key_hooks_maxactive,
		 "Calls of each hooked key function followed at once (applies when the hooks are next armed)");

/* A return instance's data, zeroed at every entry (wq_key_entry()) */
struct wq_kr_data {
	struct wq_key_frame	frame;		/* if the hook pushed it */
	const struct key	*key;
	struct key		**out;		/* look_up_user_keyrings */
	key_serial_t		id;		/* chown/setperm: the id given */
	key_serial_t		keyring;
	u32			aux;
};

static struct wq_kr_data *kr_data(struct kretprobe_instance *ri)
{
	return (struct wq_kr_data *)ri->data;
}

static unsigned long kr_arg(struct pt_regs *regs, unsigned int n)
{
	return regs_get_kernel_argument(regs, n);
}

static const struct key *kr_key_arg(struct pt_regs *regs, unsigned int n)
{
	return (const struct key *)kr_arg(regs, n);
}

static const struct key *kr_keyref_arg(struct pt_regs *regs, unsigned int n)
{
	return key_ref_to_ptr((key_ref_t)kr_arg(regs, n));
}

static long kr_ret(struct pt_regs *regs)
{
	return (long)regs_return_value(regs);
}

/*
 * Entry handlers that remember the key in argument 0, and skip the return
 * probe (return 1) for a key nobody watches: key_update is the hot path,
 * and a return probe costs as much again as the entry.
 */
static int watched_entry(struct kretprobe_instance *ri, const struct key *key)
{
	/* A false yes costs the return: wq_key_notify() looks it up again. */
	if (!wq_key_maybe_watched(key->serial))
		return 1;
	kr_data(ri)->key = key;
	return 0;
}

static int key0_entry(struct kretprobe_instance *ri, struct pt_regs *regs)
{
	return watched_entry(ri, kr_key_arg(regs, 0));
}

static int keyref0_entry(struct kretprobe_instance *ri, struct pt_regs *regs)
{
	return watched_entry(ri, kr_keyref_arg(regs, 0));
}

/* __key_instantiate_and_link(key, prep, keyring, authkey, edit) */
static int inst_entry(struct kretprobe_instance *ri, struct pt_regs *regs)
{
	struct wq_kr_data *d = kr_data(ri);

	d->key = kr_key_arg(regs, 0);
	d->frame.key = d->key;
	wq_key_frame_push(&d->frame, WQ_KEY_OP_INSTANTIATE);
	return 0;
}

/* key_reject_and_link(key, timeout, error, keyring, authkey) */
static int reject_entry(struct kretprobe_instance *ri, struct pt_regs *regs)
{
	struct wq_kr_data *d = kr_data(ri);

	d->key = kr_key_arg(regs, 0);
	d->frame.key = d->key;
	d->frame.aux = -(u32)kr_arg(regs, 2);
	wq_key_frame_push(&d->frame, WQ_KEY_OP_REJECT);
	return 0;
}

/* Both: INSTANTIATED on success, unless posted before linking. */
static int inst_ret(struct kretprobe_instance *ri, struct pt_regs *regs)
{
	struct wq_kr_data *d = kr_data(ri);

	if (kr_ret(regs) == 0 && !d->frame.done)
		wq_key_notify(d->key->serial, WQ_KEY_INSTANTIATED,
			      d->frame.aux);
	wq_key_frame_pop(&d->frame);
	return 0;
}

/*
 * __key_link(keyring, key, edit): upstream posts INSTANTIATED before the
 * new key is linked, and key_move's UNLINKED before its LINKED; the outer
 * operations are still in progress here, so post those first.
 */
static void link_post_pending(const struct key *key)
{
	static const enum wq_key_op ops[] = {
		WQ_KEY_OP_INSTANTIATE, WQ_KEY_OP_REJECT,
	};
	struct wq_key_frame *s;
	unsigned int i;

	if (!wq_key_frames_any())
		return;
	for (i = 0; i < ARRAY_SIZE(ops); i++) {
		s = wq_key_frame_current(ops[i]);
		if (s && s->key == key && !s->done) {
			s->done = true;
			wq_key_notify(key->serial, WQ_KEY_INSTANTIATED, s->aux);
		}
	}
	s = wq_key_frame_current(WQ_KEY_OP_MOVE);
	if (s && s->key == key && !s->done) {
		s->done = true;
		wq_key_notify(s->from, WQ_KEY_UNLINKED, key->serial);
	}
}

/*
 * __key_link(keyring, key, edit) cannot fail, and __key_link_end(keyring,
 * ...) follows it in every caller, under the same keyring semaphore, after
 * the edit is applied: so the entry of each is enough, and both are
 * ftrace entry callbacks where the kernel allows it (struct wq_hook_wrap),
 * kprobes otherwise.  The link's record waits from one to the other
 * (wq_key_link_defer()); a keyring nobody watches (every add_key() links)
 * costs the two callbacks and no lookup.  The key's own pending records
 * are posted first regardless.
 */
static inline void link_begin(unsigned long keyring_arg, unsigned long key_arg)
{
	const struct key *keyring = (const struct key *)keyring_arg;
	const struct key *key = (const struct key *)key_arg;

	link_post_pending(key);
	if (!wq_key_maybe_watched(keyring->serial))
		return;
	/* No slot (64 tasks linking at once): before the edit, not lost. */
	if (!wq_key_link_defer(keyring->serial, key->serial))
		wq_key_notify(keyring->serial, WQ_KEY_LINKED, key->serial);
}

static inline void link_end(unsigned long keyring, unsigned long index_key)
{
	wq_key_link_done();
}

static int link_pre(struct kprobe *kp, struct pt_regs *regs)
{
	link_begin(kr_arg(regs, 0), kr_arg(regs, 1));
	return 0;
}

static int link_end_pre(struct kprobe *kp, struct pt_regs *regs)
{
	link_end(kr_arg(regs, 0), kr_arg(regs, 1));
	return 0;
}

WQ_HOOK_ENTRY(link_fentry, link_begin);
WQ_HOOK_ENTRY(link_end_fentry, link_end);

/* key_unlink(keyring, key) */
static int unlink_entry(struct kretprobe_instance *ri, struct pt_regs *regs)
{
	struct wq_kr_data *d = kr_data(ri);

	d->keyring = kr_key_arg(regs, 0)->serial;
	d->key = kr_key_arg(regs, 1);
	return wq_key_maybe_watched(d->keyring) ? 0 : 1;
}

static int unlink_ret(struct kretprobe_instance *ri, struct pt_regs *regs)
{
	struct wq_kr_data *d = kr_data(ri);

	if (kr_ret(regs) == 0)
		wq_key_notify(d->keyring, WQ_KEY_UNLINKED, d->key->serial);
	return 0;
}

/* key_unlink(), exported, redirected where the kernel allows it */
static int unlink_wrapper(struct key *keyring, struct key *key)
{
	int ret;

	wq_hook_wrapper_enter();
	ret = key_unlink(keyring, key);
	if (!ret)
		wq_key_notify(keyring->serial, WQ_KEY_UNLINKED, key->serial);
	wq_hook_wrapper_exit();
	return ret;
}

static inline bool unlink_want(unsigned long keyring, unsigned long key)
{
	return wq_key_maybe_watched(((const struct key *)keyring)->serial);
}

WQ_HOOK_WRAP(unlink_wrap, key_unlink, unlink_wrapper, unlink_want);

/* key_move(key, from_keyring, to_keyring, flags): see link_post_pending */
static int move_entry(struct kretprobe_instance *ri, struct pt_regs *regs)
{
	struct wq_kr_data *d = kr_data(ri);

	d->frame.key = kr_key_arg(regs, 0);
	d->frame.from = kr_key_arg(regs, 1)->serial;
	wq_key_frame_push(&d->frame, WQ_KEY_OP_MOVE);
	return 0;
}

static int frame_pop_ret(struct kretprobe_instance *ri, struct pt_regs *regs)
{
	wq_key_frame_pop(&kr_data(ri)->frame);
	return 0;
}

/* [__]key_create_or_update(): UPDATED if it returns the key it found */
static int create_entry(struct kretprobe_instance *ri, struct pt_regs *regs)
{
	wq_key_frame_push(&kr_data(ri)->frame, WQ_KEY_OP_CREATE_OR_UPDATE);
	return 0;
}

static int create_ret(struct kretprobe_instance *ri, struct pt_regs *regs)
{
	struct wq_key_frame *s = &kr_data(ri)->frame;
	long ret = kr_ret(regs);

	if (s->key && !IS_ERR_VALUE(ret) &&
	    key_ref_to_ptr((key_ref_t)ret) == s->key)
		wq_key_notify(s->serial, WQ_KEY_UPDATED, 0);
	wq_key_frame_pop(s);
	return 0;
}

/* find_key_to_update(keyring_ref, index_key): returns a pinned key_ref */
static int find_update_ret(struct kretprobe_instance *ri,
			   struct pt_regs *regs)
{
	struct wq_key_frame *s = wq_key_frame_current(WQ_KEY_OP_CREATE_OR_UPDATE);
	long ret = kr_ret(regs);

	if (s && ret && !IS_ERR_VALUE(ret)) {
		s->key = key_ref_to_ptr((key_ref_t)ret);
		s->serial = s->key->serial;
	}
	return 0;
}

/*
 * keyctl_chown_key(id, ...), keyctl_setperm_key(id, perm) act on the key
 * lookup_user_key(id) gives.  That lookup runs for nearly every keyctl, so
 * rather than probe it, the key is found again on return: a positive id is
 * the serial itself; the task's own keyrings are in its credentials, which
 * only the task changes (the lookup may just have installed one); the user
 * keyrings come from look_up_user_keyrings(), probed for that alone.
 */
static int setattr_entry(struct kretprobe_instance *ri, struct pt_regs *regs)
{
	struct wq_kr_data *d = kr_data(ri);

	d->id = (key_serial_t)kr_arg(regs, 0);
	d->frame.id = d->id;
	wq_key_frame_push(&d->frame, WQ_KEY_OP_SETATTR);
	return 0;
}

/* keyctl_chown_key(id, -1, -1) succeeds without a lookup or a record. */
static int chown_entry(struct kretprobe_instance *ri, struct pt_regs *regs)
{
	if ((u32)kr_arg(regs, 1) == (u32)-1 && (u32)kr_arg(regs, 2) == (u32)-1)
		return 1;
	return setattr_entry(ri, regs);
}

/* The destination keyring of the request_key() being serviced */
static const struct key *requestor_keyring(const struct key *authkey)
{
	const struct request_key_auth *rka;

	/* Revoking the auth key frees its record after an RCU grace period. */
	rka = authkey ? rcu_dereference(authkey->payload.rcu_data0) : NULL;
	return rka ? rka->dest_keyring : NULL;
}

static key_serial_t special_key_serial(key_serial_t id)
{
	const struct cred *cred = current_cred();
	const struct key *key = NULL;
	key_serial_t serial = 0;

	rcu_read_lock();
	switch (id) {
	case KEY_SPEC_THREAD_KEYRING:
		key = cred->thread_keyring;
		break;
	case KEY_SPEC_PROCESS_KEYRING:
		key = cred->process_keyring;
		break;
	case KEY_SPEC_SESSION_KEYRING:
		key = cred->session_keyring;
		break;
	case KEY_SPEC_REQKEY_AUTH_KEY:
		key = cred->request_key_auth;
		break;
	case KEY_SPEC_REQUESTOR_KEYRING:
		key = requestor_keyring(cred->request_key_auth);
		break;
	}
	if (key)
		serial = key->serial;
	rcu_read_unlock();
	return serial;
}

static int setattr_ret(struct kretprobe_instance *ri, struct pt_regs *regs)
{
	struct wq_kr_data *d = kr_data(ri);
	key_serial_t serial;

	if (kr_ret(regs) == 0) {
		serial = d->id > 0 ? d->id : d->frame.serial;
		if (!serial)
			serial = special_key_serial(d->id);
		if (serial)
			wq_key_notify(serial, WQ_KEY_SETATTR, 0);
	}
	wq_key_frame_pop(&d->frame);
	return 0;
}

/*
 * look_up_user_keyrings(&user, &user_session): how lookup_user_key()
 * resolves KEY_SPEC_USER_KEYRING and KEY_SPEC_USER_SESSION_KEYRING.  Also
 * called elsewhere (request_key, session joins): only a keyctl_chown or
 * keyctl_setperm of one of those ids takes the return probe.
 */
static int user_keyrings_entry(struct kretprobe_instance *ri,
			       struct pt_regs *regs)
{
	struct wq_key_frame *s = wq_key_frame_current(WQ_KEY_OP_SETATTR);
	struct wq_kr_data *d = kr_data(ri);

	if (!s || s->serial)
		return 1;
	if (s->id == KEY_SPEC_USER_KEYRING)
		d->out = (struct key **)kr_arg(regs, 0);
	else if (s->id == KEY_SPEC_USER_SESSION_KEYRING)
		d->out = (struct key **)kr_arg(regs, 1);
	else
		return 1;
	return d->out ? 0 : 1;
}

static int user_keyrings_ret(struct kretprobe_instance *ri,
			     struct pt_regs *regs)
{
	struct wq_key_frame *s = wq_key_frame_current(WQ_KEY_OP_SETATTR);
	const struct key *key;

	/* d->out is the caller's local, still live: it holds a reference. */
	if (!s || kr_ret(regs) != 0)
		return 0;
	key = *kr_data(ri)->out;
	if (key)
		s->serial = key->serial;
	return 0;
}

/* Functions whose success (return 0) means one record about a key */
#define WQ_KEY_ON_SUCCESS(fn, subtype)					\
static int fn##_ret(struct kretprobe_instance *ri, struct pt_regs *regs)	\
{									\
	if (kr_ret(regs) == 0)						\
		wq_key_notify(kr_data(ri)->key->serial, subtype, 0);	\
	return 0;							\
}

WQ_KEY_ON_SUCCESS(update, WQ_KEY_UPDATED)
WQ_KEY_ON_SUCCESS(clear, WQ_KEY_CLEARED)
WQ_KEY_ON_SUCCESS(restrict, WQ_KEY_SETATTR)

/*
 * key_update(), exported, where the kernel allows redirecting it (see
 * struct wq_hook_wrap): the hot path of a key nobody watches then costs
 * one ftrace callback.  The caller holds @key_ref: the key outlives the
 * call.
 */
static int update_wrapper(key_ref_t key_ref, const void *payload, size_t plen)
{
	const struct key *key = key_ref_to_ptr(key_ref);
	int ret;

	wq_hook_wrapper_enter();
	ret = key_update(key_ref, payload, plen);
	if (!ret)
		wq_key_notify(key->serial, WQ_KEY_UPDATED, 0);
	wq_hook_wrapper_exit();
	return ret;
}

/* A false yes costs only the wrapper: wq_key_notify() looks the key up. */
static inline bool update_want(unsigned long key_ref, unsigned long payload)
{
	return wq_key_maybe_watched(key_ref_to_ptr((key_ref_t)key_ref)->serial);
}

WQ_HOOK_WRAP(update_wrap, key_update, update_wrapper, update_want);

/*
 * key_revoke/key_invalidate: only the first time, as upstream.  Of two
 * racing calls both may see the flag clear on entry; only the one that
 * sets it goes on to schedule the key GC (key_schedule_gc for a revoke,
 * key_schedule_gc_links for an invalidation), and that marks the winner.
 * Without those probe targets, the flag decides.
 */
static int first_time_entry(struct kretprobe_instance *ri,
			    struct pt_regs *regs, enum wq_key_op op, int flag)
{
	struct wq_kr_data *d = kr_data(ri);

	d->key = kr_key_arg(regs, 0);
	if (test_bit(flag, &d->key->flags))
		return 1;
	d->frame.key = d->key;
	wq_key_frame_push(&d->frame, op);
	return 0;
}

static void first_time_ret(struct kretprobe_instance *ri, int flag,
			   enum wq_key_subtype subtype, bool exact)
{
	struct wq_kr_data *d = kr_data(ri);
	bool first = exact ? d->frame.done : test_bit(flag, &d->key->flags);

	if (first)
		wq_key_notify(d->key->serial, subtype, 0);
	wq_key_frame_pop(&d->frame);
}

static bool wq_key_gc_probes_armed(void);

static int revoke_entry(struct kretprobe_instance *ri, struct pt_regs *regs)
{
	return first_time_entry(ri, regs, WQ_KEY_OP_REVOKE, KEY_FLAG_REVOKED);
}

static int revoke_ret(struct kretprobe_instance *ri, struct pt_regs *regs)
{
	first_time_ret(ri, KEY_FLAG_REVOKED, WQ_KEY_REVOKED,
		       wq_key_gc_probes_armed());
	return 0;
}

/*
 * Instantiating a key under construction invalidates the authorisation key
 * after linking the key and before waking the tasks waiting for it: the
 * waiting link's record goes now, before anything those tasks do.
 */
static int inval_entry(struct kretprobe_instance *ri, struct pt_regs *regs)
{
	wq_key_link_done();
	return first_time_entry(ri, regs, WQ_KEY_OP_INVALIDATE,
				KEY_FLAG_INVALIDATED);
}

static int inval_ret(struct kretprobe_instance *ri, struct pt_regs *regs)
{
	first_time_ret(ri, KEY_FLAG_INVALIDATED, WQ_KEY_INVALIDATED,
		       wq_key_gc_probes_armed());
	return 0;
}

/* key_schedule_gc(), key_schedule_gc_links(): the winner of a race */
static void mark_winner(enum wq_key_op op)
{
	struct wq_key_frame *s = wq_key_frame_current(op);

	if (s)
		s->done = true;
}

static int revoke_won_pre(struct kprobe *kp, struct pt_regs *regs)
{
	mark_winner(WQ_KEY_OP_REVOKE);
	return 0;
}

static int inval_won_pre(struct kprobe *kp, struct pt_regs *regs)
{
	mark_winner(WQ_KEY_OP_INVALIDATE);
	return 0;
}

/* key_set_timeout(key, timeout): expiry changed */
static int timeout_ret(struct kretprobe_instance *ri, struct pt_regs *regs)
{
	wq_key_notify(kr_data(ri)->key->serial, WQ_KEY_SETATTR, 0);
	return 0;
}

/* security_key_free(key): called by the key GC for each destroyed key */
static int destroy_pre(struct kprobe *kp, struct pt_regs *regs)
{
	wq_key_destroyed(kr_key_arg(regs, 0)->serial);
	return 0;
}

/*
 * The table.  Every target is required (a missing one turns the key source
 * off rather than miss events) but the two that only tell the winner of a
 * revoke or invalidate race (first_time_ret() falls back to the flag).
 */
enum {
	WQ_KH_INSTANTIATE, WQ_KH_REJECT, WQ_KH_LINK, WQ_KH_LINK_END,
	WQ_KH_UNLINK, WQ_KH_MOVE,
	WQ_KH_UPDATE, WQ_KH_CREATE, WQ_KH_FIND_UPDATE, WQ_KH_CLEAR,
	WQ_KH_REVOKE, WQ_KH_INVALIDATE, WQ_KH_TIMEOUT, WQ_KH_RESTRICT,
	WQ_KH_CHOWN, WQ_KH_SETPERM, WQ_KH_USER_KEYRINGS, WQ_KH_DESTROY,
	WQ_KH_REVOKE_WON, WQ_KH_INVAL_WON, WQ_KH_NR
};

#define KR(i, n, e, r)							\
	[i] = { .names = { n }, .kind = WQ_HOOK_KRETPROBE, .entry = e,	\
		.ret = r, .data_size = sizeof(struct wq_kr_data) }

static struct wq_hook wq_key_hooks[WQ_KH_NR] = {
	KR(WQ_KH_INSTANTIATE, "__key_instantiate_and_link", inst_entry, inst_ret),
	KR(WQ_KH_REJECT, "key_reject_and_link", reject_entry, inst_ret),
	[WQ_KH_LINK] = { .names = { "__key_link" }, .kind = WQ_HOOK_KPROBE,
			 .pre = link_pre, .wrap = &link_fentry },
	[WQ_KH_LINK_END] = { .names = { "__key_link_end" },
			     .kind = WQ_HOOK_KPROBE, .pre = link_end_pre,
			     .wrap = &link_end_fentry },
	[WQ_KH_UNLINK] = { .names = { "key_unlink" },
			   .kind = WQ_HOOK_KRETPROBE, .entry = unlink_entry,
			   .ret = unlink_ret, .wrap = &unlink_wrap,
			   .data_size = sizeof(struct wq_kr_data) },
	KR(WQ_KH_MOVE, "key_move", move_entry, frame_pop_ret),
	[WQ_KH_UPDATE] = { .names = { "key_update" },
			   .kind = WQ_HOOK_KRETPROBE, .entry = keyref0_entry,
			   .ret = update_ret, .wrap = &update_wrap,
			   .data_size = sizeof(struct wq_kr_data) },
	[WQ_KH_CREATE] = {
		.names = { "__key_create_or_update", "key_create_or_update" },
		.kind = WQ_HOOK_KRETPROBE, .entry = create_entry,
		.ret = create_ret, .data_size = sizeof(struct wq_kr_data) },
	KR(WQ_KH_FIND_UPDATE, "find_key_to_update", NULL, find_update_ret),
	KR(WQ_KH_CLEAR, "keyring_clear", key0_entry, clear_ret),
	KR(WQ_KH_REVOKE, "key_revoke", revoke_entry, revoke_ret),
	KR(WQ_KH_INVALIDATE, "key_invalidate", inval_entry, inval_ret),
	KR(WQ_KH_TIMEOUT, "key_set_timeout", key0_entry, timeout_ret),
	KR(WQ_KH_RESTRICT, "keyring_restrict", keyref0_entry, restrict_ret),
	KR(WQ_KH_CHOWN, "keyctl_chown_key", chown_entry, setattr_ret),
	KR(WQ_KH_SETPERM, "keyctl_setperm_key", setattr_entry, setattr_ret),
	KR(WQ_KH_USER_KEYRINGS, "look_up_user_keyrings", user_keyrings_entry,
	   user_keyrings_ret),
	[WQ_KH_DESTROY] = { .names = { "security_key_free" },
			    .kind = WQ_HOOK_KPROBE, .pre = destroy_pre },
	[WQ_KH_REVOKE_WON] = { .names = { "key_schedule_gc" },
			       .kind = WQ_HOOK_KPROBE, .pre = revoke_won_pre,
			       .need = WQ_HOOK_OPTIONAL,
			       .without = "racing revokes may post twice" },
	[WQ_KH_INVAL_WON] = { .names = { "key_schedule_gc_links" },
			      .kind = WQ_HOOK_KPROBE, .pre = inval_won_pre,
			      .need = WQ_HOOK_OPTIONAL,
			      .without = "racing invalidations may post twice" },
};

static struct wq_hook_set wq_key_hook_set = {
	WQ_HOOK_SET(wq_key_hook_set, "keys", "key notifications", wq_key_hooks),
	.maxactive = &wq_key_maxactive,
	/* A missed call may have been about any watched key. */
	.lost = wq_keys_lost,
};

/* The armed flags stay set until the probes are gone (wq_hooks.c). */
static bool wq_key_gc_probes_armed(void)
{
	return wq_hook_armed(&wq_key_hooks[WQ_KH_REVOKE_WON]) &&
	       wq_hook_armed(&wq_key_hooks[WQ_KH_INVAL_WON]);
}

int wq_key_hooks_init(void)
{
	wq_hooks_init(&wq_key_hook_set);
	return 0;
}

bool wq_key_hooks_available(void)
{
	return wq_hooks_available(&wq_key_hook_set);
}

/*
 * The frames are closed first: they live in return instances that the
 * kprobes core frees once their probe is gone.
 */
void wq_key_hooks_disarm(void)
{
	wq_key_frames_set_open(false);
	wq_hooks_disarm(&wq_key_hook_set);
}

bool wq_key_hooks_armed(void)
{
	return wq_hooks_armed(&wq_key_hook_set);
}

int wq_key_hooks_arm(void)
{
	int ret;

	if (wq_key_hooks_armed())
		return 0;
	ret = wq_hooks_arm(&wq_key_hook_set, 0);
	if (ret)
		return ret;
	/* No watch exists yet: calls under way meanwhile post nothing. */
	wq_key_frames_set_open(true);
	return 0;
}

/* key_hooks (read-only): the keys line of "hooks", kept as the README has it */
module_param_cb(key_hooks, &wq_hooks_set_param_ops, &wq_key_hook_set, 0444);
MODULE_PARM_DESC(key_hooks, "Key hook targets, whether armed, and missed returns (as in hooks)");
module_param_cb(key_hooks_arms, &wq_hooks_arms_param_ops, &wq_key_hook_set,
		0444);
MODULE_PARM_DESC(key_hooks_arms, "Times the key hooks were armed since load");
