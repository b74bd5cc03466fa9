// SPDX-License-Identifier: GPL-2.0
/*
 * The hook engine (wq_hooks.h): kprobes and kretprobes by symbol name
 * (register_kprobe/register_kretprobe, exported; the probed function may
 * be internal), tracepoint probes on core kernel tracepoints found by
 * name with for_each_kernel_tracepoint(), and ftrace callbacks: on
 * exported functions, which redirect wanted calls to a wrapper (struct
 * wq_hook_wrap), and at the entry of functions by name, which stand in for
 * a kprobe.  Nothing else is called: no kallsyms lookups.
 *
 * Locking: each set's mutex serialises finding, arming, disarming and
 * rendering that set; the sources call the engine from process context,
 * possibly under their own mutex (which then nests outside the set's).
 * wq_hook_sets_lock guards the list of sets the hooks parameter shows.
 * Handlers take no lock: they read the table (fixed after load) and the
 * missed counters (atomics), and call the source's handler.
 *
 * RCU: unregistering waits for handlers that may still run (the kprobes
 * core waits one grace period per unregister_k[ret]probes() call, the
 * tracepoint core in tracepoint_synchronize_unregister()), so a set is
 * removed in one batch per kind present: the wait is paid once per kind,
 * not once per probe.  A hook's armed flag is cleared only after that, so
 * a handler that reads another hook's flag (wq_hook_armed()) never sees
 * it cleared while that hook may still fire.
 *
 * Wrappers: unregister_ftrace_function() returns once no task can be
 * between a callback that redirected its call and the wrapper's first
 * instruction (it waits for tasks RCU on a preemptible kernel).  Tasks
 * inside a wrapper are counted; module exit waits for the count to fall
 * to zero and then for tasks RCU again, for the few instructions after
 * the decrement.
 */
#include <linux/atomic.h>
#include <linux/delay.h>
#include <linux/kernel.h>
#include <linux/kprobes.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/rcupdate.h>
#include <linux/string.h>
#include <linux/tracepoint.h>
#include "compat/wq_compat_kprobes.h"
#include "wq_hooks.h"

/* Return instances when neither the hook nor its set says; core max 4096 */
#define WQ_HOOK_MAXACTIVE	16
#define WQ_HOOK_MAXACTIVE_MAX	4096

static LIST_HEAD(wq_hook_sets);
static DEFINE_MUTEX(wq_hook_sets_lock);

atomic_t wq_hook_wrappers_running = ATOMIC_INIT(0);

#ifdef WQ_HOOKS_WRAP
/*
 * A redirect is IPMODIFY: one such ops per function, so a function a live
 * patch or another redirect already holds gives -EBUSY, and the caller
 * falls back to the kretprobe.  No SAVE_REGS: ftrace_caller keeps the
 * argument registers and honours a new ip (DYNAMIC_FTRACE_WITH_ARGS).  An
 * entry callback is found by the function's @name (ftrace's own records:
 * a function ftrace cannot trace gives -EINVAL, and the kprobe is placed).
 * No RECURSION flag: ftrace calls both through its recursion guard, with
 * preemption off, as a kprobe handler runs.
 */
static int wq_hook_wrap_register(struct wq_hook *h, const char *name)
{
	char buf[64];
	int ret;

	memset(&h->fops, 0, sizeof(h->fops));
	h->fops.func = h->wrap->call;
	if (h->wrap->target) {
		h->fops.flags = FTRACE_OPS_FL_IPMODIFY;
		ret = ftrace_set_filter_ip(&h->fops,
					   (unsigned long)h->wrap->target,
					   0, 0);
	} else {
		/* ftrace may parse the pattern in place: a copy. */
		if (strscpy(buf, name, sizeof(buf)) < 0)
			return -ENAMETOOLONG;
		ret = ftrace_set_filter(&h->fops, buf, strlen(buf), 0);
	}
	if (!ret)
		ret = register_ftrace_function(&h->fops);
	if (ret)
		ftrace_free_filter(&h->fops);
	return ret;
}

static void wq_hook_wrap_unregister(struct wq_hook *h)
{
	unregister_ftrace_function(&h->fops);
	ftrace_free_filter(&h->fops);
}
#else
static int wq_hook_wrap_register(struct wq_hook *h, const char *name)
{
	return -EOPNOTSUPP;
}

static void wq_hook_wrap_unregister(struct wq_hook *h)
{
}
#endif

void wq_hooks_exit(void)
{
	/* A call blocked in its function (a key's semaphore) returns first. */
	while (atomic_read(&wq_hook_wrappers_running))
		msleep(20);
#ifdef WQ_HOOKS_WRAP
	synchronize_rcu_tasks();
#endif
}

static bool wq_hook_is_kprobe(const struct wq_hook *h)
{
	return h->kind == WQ_HOOK_KPROBE || h->kind == WQ_HOOK_KRETPROBE;
}

/* A hook without a handler for its kind (this kernel has none): missing */
static bool wq_hook_has_handler(const struct wq_hook *h)
{
	switch (h->kind) {
	case WQ_HOOK_KPROBE:
		return h->pre;
	case WQ_HOOK_KRETPROBE:
		return h->ret;
	case WQ_HOOK_TRACEPOINT:
		return h->tp_probe;
	}
	return false;
}

static struct kprobe *wq_hook_kp(struct wq_hook *h)
{
	return h->kind == WQ_HOOK_KRETPROBE ? &h->rp.kp : &h->kp;
}

/* Calls this hook's probe missed since it was registered */
static unsigned long wq_hook_missed(const struct wq_hook *h)
{
	if (h->wrapped)
		return 0;
	switch (h->kind) {
	case WQ_HOOK_KPROBE:
		return READ_ONCE(h->kp.nmissed);
	case WQ_HOOK_KRETPROBE:
		return (unsigned int)READ_ONCE(h->rp.nmissed) +
		       READ_ONCE(h->rp.kp.nmissed);
	case WQ_HOOK_TRACEPOINT:
		break;
	}
	return 0;
}

/*
 * Report the calls @h missed since last seen to its source: a miss is seen
 * by the next handler of the same probe (for a kretprobe out of instances,
 * one of the calls holding them, when it returns), and at disarm.  The
 * kprobes core counts without atomics, so two misses racing on two CPUs
 * may count once; the claim on missed_seen reports each counted miss once.
 */
static void wq_hook_check_missed(struct wq_hook *h)
{
	unsigned long missed;
	long seen;

	if (!h->set->lost)
		return;
	missed = wq_hook_missed(h);
	seen = atomic_long_read(&h->missed_seen);
	while ((long)(missed - seen) > 0) {
		if (atomic_long_try_cmpxchg(&h->missed_seen, &seen, missed)) {
			h->set->lost(missed - seen);
			break;
		}
	}
}

static int wq_hook_pre(struct kprobe *kp, struct pt_regs *regs)
{
	struct wq_hook *h = container_of(kp, struct wq_hook, kp);

	h->pre(kp, regs);
	wq_hook_check_missed(h);
	return 0;
}

static struct wq_hook *wq_hook_of(struct kretprobe_instance *ri)
{
	return container_of(wq_kretprobe_of(ri), struct wq_hook, rp);
}

/*
 * Every return probe's entry: the instance's data is zeroed first, as the
 * kprobes core reuses instances without clearing them (and before 5.11
 * allocates them uninitialised), so no field a handler reads or posts can
 * hold stale or uninitialised memory.
 */
static int wq_hook_entry(struct kretprobe_instance *ri, struct pt_regs *regs)
{
	struct wq_hook *h = wq_hook_of(ri);

	/*
	 * A memset() of a size known only now is "rep stosb", a step per
	 * byte, on every probed call: the data comes in a few sizes, each
	 * cleared with a constant-size memset() (a few word stores).
	 */
	switch (h->data_class) {
	case 0:
		break;
	case WQ_HOOK_DATA_SMALL:
		memset(ri->data, 0, WQ_HOOK_DATA_SMALL);
		break;
	case WQ_HOOK_DATA_MEDIUM:
		memset(ri->data, 0, WQ_HOOK_DATA_MEDIUM);
		break;
	default:
		memset(ri->data, 0, WQ_HOOK_DATA_MAX);
		break;
	}
	return h->entry ? h->entry(ri, regs) : 0;
}

/* The size class of @size bytes of return probe data; 0 if too big */
static unsigned int wq_hook_data_class(size_t size)
{
	if (!size)
		return 0;
	if (size <= WQ_HOOK_DATA_SMALL)
		return WQ_HOOK_DATA_SMALL;
	if (size <= WQ_HOOK_DATA_MEDIUM)
		return WQ_HOOK_DATA_MEDIUM;
	return size <= WQ_HOOK_DATA_MAX ? WQ_HOOK_DATA_MAX : 0;
}

static int wq_hook_ret(struct kretprobe_instance *ri, struct pt_regs *regs)
{
	struct wq_hook *h = wq_hook_of(ri);

	h->ret(ri, regs);
	wq_hook_check_missed(h);
	return 0;
}

static unsigned int wq_hook_maxactive(const struct wq_hook *h)
{
	unsigned int n = h->maxactive;

	if (!n && h->set->maxactive)
		n = READ_ONCE(*h->set->maxactive);
	if (!n)
		n = WQ_HOOK_MAXACTIVE;
	return clamp(n, 1U, (unsigned int)WQ_HOOK_MAXACTIVE_MAX);
}

/*
 * A probe may be registered again only from a clean structure.  @wrap:
 * a hook with .wrap is placed so if the kernel lets it.
 */
static int wq_hook_register(struct wq_hook *h, const char *name, bool wrap)
{
	int ret;

	atomic_long_set(&h->missed_seen, 0);
	h->wrapped = false;
	if (wrap && h->wrap) {
		ret = wq_hook_wrap_register(h, name);
		if (!ret) {
			h->wrapped = true;
			return 0;
		}
		if (ret != -EOPNOTSUPP)
			pr_info_once("%s hook %s: no ftrace callback (%d), a kprobe instead\n",
				     h->set->name, name, ret);
	}
	switch (h->kind) {
	case WQ_HOOK_KPROBE:
		memset(&h->kp, 0, sizeof(h->kp));
		h->kp.symbol_name = name;
		h->kp.pre_handler = wq_hook_pre;
		return register_kprobe(&h->kp);
	case WQ_HOOK_KRETPROBE:
		memset(&h->rp, 0, sizeof(h->rp));
		h->rp.kp.symbol_name = name;
		h->rp.entry_handler = wq_hook_entry;
		h->rp.handler = wq_hook_ret;
		h->data_class = wq_hook_data_class(h->data_size);
		if (WARN_ON_ONCE(h->data_size && !h->data_class))
			return -EINVAL;
		h->rp.data_size = h->data_class;
		h->rp.maxactive = wq_hook_maxactive(h);
		return register_kretprobe(&h->rp);
	case WQ_HOOK_TRACEPOINT:
		return tracepoint_probe_register(h->tp, h->tp_probe, h);
	}
	return -EINVAL;
}

/* One hook, waiting for its own grace period: only off the batch paths */
static void wq_hook_unregister(struct wq_hook *h)
{
	if (h->wrapped) {
		wq_hook_wrap_unregister(h);
		return;
	}
	switch (h->kind) {
	case WQ_HOOK_KPROBE:
		unregister_kprobe(&h->kp);
		break;
	case WQ_HOOK_KRETPROBE:
		unregister_kretprobe(&h->rp);
		break;
	case WQ_HOOK_TRACEPOINT:
		tracepoint_probe_unregister(h->tp, h->tp_probe, h);
		tracepoint_synchronize_unregister();
		break;
	}
}

/*
 * Place @h on the first of its names that exists; -ENOENT if none does.
 * @wrap as for wq_hook_register().
 */
static int wq_hook_place(struct wq_hook *h, bool wrap)
{
	int ret = -ENOENT;
	unsigned int i;

	if (!wq_hook_has_handler(h))
		return -ENOENT;
	if (h->kind == WQ_HOOK_TRACEPOINT)
		return h->used ? wq_hook_register(h, h->used, false) : -ENOENT;
	if (h->used && h->need != WQ_HOOK_IN_MODULE)
		return wq_hook_register(h, h->used, wrap);
	for (i = 0; i < WQ_HOOK_NAMES && h->names[i]; i++) {
		ret = wq_hook_register(h, h->names[i], wrap);
		if (!ret) {
			h->used = h->names[i];
			break;
		}
	}
	return ret;
}

/*
 * Removes the placed hooks in @mask (indexes into the set) in one batch
 * per kind, then clears their armed flags and reports their last misses.
 */
static void wq_hooks_remove(struct wq_hook_set *set, unsigned long mask)
{
	struct kretprobe *rps[WQ_HOOKS_MAX];
	struct kprobe *kps[WQ_HOOKS_MAX];
	unsigned int i, nr_rps = 0, nr_kps = 0, nr_tps = 0;
	struct wq_hook *h;

	for (i = 0; i < set->nr; i++) {
		if (!(mask & BIT(i)))
			continue;
		h = &set->hooks[i];
		if (h->wrapped) {
			/*
			 * Each waits on its own (ftrace has no batch): two
			 * in the key set, where arming saves far more.
			 */
			wq_hook_wrap_unregister(h);
			continue;
		}
		switch (h->kind) {
		case WQ_HOOK_KPROBE:
			kps[nr_kps++] = &h->kp;
			break;
		case WQ_HOOK_KRETPROBE:
			rps[nr_rps++] = &h->rp;
			break;
		case WQ_HOOK_TRACEPOINT:
			tracepoint_probe_unregister(h->tp, h->tp_probe, h);
			nr_tps++;
			break;
		}
	}
	if (nr_kps)
		unregister_kprobes(kps, nr_kps);
	if (nr_rps)
		unregister_kretprobes(rps, nr_rps);
	/* No tracepoint probe may still be running once we return. */
	if (nr_tps)
		tracepoint_synchronize_unregister();
	for (i = 0; i < set->nr; i++) {
		if (!(mask & BIT(i)))
			continue;
		WRITE_ONCE(set->hooks[i].armed, false);
		wq_hook_check_missed(&set->hooks[i]);
		set->hooks[i].wrapped = false;
	}
}

static void wq_hooks_find_tp(struct tracepoint *tp, void *priv)
{
	struct wq_hook_set *set = priv;
	struct wq_hook *h;

	for (h = set->hooks; h < set->hooks + set->nr; h++) {
		if (h->kind != WQ_HOOK_TRACEPOINT || h->used == h->names[0])
			continue;
		if (h->names[0] && !strcmp(tp->name, h->names[0])) {
			h->tp = tp;
			h->used = h->names[0];
		} else if (!h->used && h->names[1] &&
			   !strcmp(tp->name, h->names[1])) {
			h->tp = tp;
			h->used = h->names[1];
		}
	}
}

static void wq_hook_report_missing(const struct wq_hook *h, int ret)
{
	if (h->need == WQ_HOOK_REQUIRED)
		pr_warn("%s hook %s unavailable (%d): %s disabled\n",
			h->set->name, h->names[0], ret, h->set->what);
	else if (!(h->flags & WQ_HOOK_MAY_BE_MISSING))
		pr_info("%s hook %s unavailable (%d)%s%s\n", h->set->name,
			h->names[0], ret, h->without ? ": " : "",
			h->without ?: "");
}

void wq_hooks_init(struct wq_hook_set *set)
{
	unsigned long found = 0;
	bool tps = false;
	struct wq_hook *h;
	int ret;

	mutex_lock(&set->lock);
	for (h = set->hooks; h < set->hooks + set->nr; h++) {
		h->set = set;
		tps |= h->kind == WQ_HOOK_TRACEPOINT;
	}
	if (tps)
		for_each_kernel_tracepoint(wq_hooks_find_tp, set);
	/*
	 * Each kprobe target is checked by placing the probe: all are placed
	 * first, then removed in one batch (one grace period, not one each).
	 * No watch exists yet, so the handlers that may run meanwhile post
	 * nothing.  In-module targets are looked for when armed.
	 */
	for (h = set->hooks; h < set->hooks + set->nr; h++) {
		if (h->need == WQ_HOOK_IN_MODULE)
			continue;
		ret = -ENOENT;
		if (h->kind == WQ_HOOK_TRACEPOINT && wq_hook_has_handler(h))
			ret = h->used ? 0 : -ENOENT;
		else if (wq_hook_is_kprobe(h))
			ret = wq_hook_place(h, false);
		if (ret) {
			h->used = NULL;
			wq_hook_report_missing(h, ret);
		} else if (wq_hook_is_kprobe(h)) {
			found |= BIT(h - set->hooks);
		}
	}
	wq_hooks_remove(set, found);
	mutex_unlock(&set->lock);

	mutex_lock(&wq_hook_sets_lock);
	list_add_tail(&set->node, &wq_hook_sets);
	mutex_unlock(&wq_hook_sets_lock);
}

bool wq_hooks_available(struct wq_hook_set *set)
{
	const struct wq_hook *h;

	for (h = set->hooks; h < set->hooks + set->nr; h++)
		if (h->need == WQ_HOOK_REQUIRED && !READ_ONCE(h->used))
			return false;
	return true;
}

bool wq_hooks_found(struct wq_hook_set *set, unsigned int tags)
{
	struct wq_hook *h;
	bool found = false;

	mutex_lock(&set->lock);
	for (h = set->hooks; h < set->hooks + set->nr; h++)
		found |= (h->tags & tags) && h->used;
	/* None seen yet (the module not loaded when last asked): try now. */
	for (h = set->hooks; !found && h < set->hooks + set->nr; h++) {
		if (!(h->tags & tags) || h->armed ||
		    h->need != WQ_HOOK_IN_MODULE || wq_hook_place(h, false))
			continue;
		wq_hook_unregister(h);
		found = true;
	}
	mutex_unlock(&set->lock);
	return found;
}

bool wq_hooks_armed(struct wq_hook_set *set)
{
	const struct wq_hook *h;

	for (h = set->hooks; h < set->hooks + set->nr; h++)
		if (READ_ONCE(h->armed))
			return true;
	return false;
}

int wq_hooks_arm(struct wq_hook_set *set, unsigned int flags)
{
	struct wq_hook *h;
	int ret = 0;

	if (!wq_hooks_available(set))
		return -EOPNOTSUPP;
	mutex_lock(&set->lock);
	if (!wq_hooks_armed(set))
		set->arms++;
	/* In table order: a handler may depend on an earlier hook's flag. */
	for (h = set->hooks; h < set->hooks + set->nr; h++) {
		/* Its module was unloaded since: the probe is dead, place it again. */
		if (h->armed && wq_hook_is_kprobe(h) && !h->wrapped &&
		    kprobe_gone(wq_hook_kp(h))) {
			wq_hook_unregister(h);
			WRITE_ONCE(h->armed, false);
		}
		if (h->armed || (!h->used && h->need != WQ_HOOK_IN_MODULE))
			continue;
		ret = wq_hook_place(h, true);
		if (!ret) {
			WRITE_ONCE(h->armed, true);
			continue;
		}
		if (h->need == WQ_HOOK_REQUIRED) {
			pr_warn("cannot arm %s hook %s: %d\n", set->name,
				h->used, ret);
			break;
		}
		if (h->need == WQ_HOOK_OPTIONAL)
			pr_warn("cannot arm %s hook %s: %d\n", set->name,
				h->used, ret);
		/* Missing while its module is not loaded */
		else if ((flags & WQ_HOOKS_ARM_WARN_MODULE) &&
			 !(h->flags & WQ_HOOK_MAY_BE_MISSING))
			pr_warn_ratelimited("cannot arm %s hook %s: %d\n",
					    set->name, h->names[0], ret);
		ret = 0;
	}
	mutex_unlock(&set->lock);
	if (ret)
		wq_hooks_disarm(set);
	return ret;
}

void wq_hooks_disarm(struct wq_hook_set *set)
{
	unsigned long armed = 0;
	unsigned int i;

	mutex_lock(&set->lock);
	for (i = 0; i < set->nr; i++)
		if (set->hooks[i].armed)
			armed |= BIT(i);
	wq_hooks_remove(set, armed);
	mutex_unlock(&set->lock);
}

/*
 * The one format of a set's targets: " +name" placed, " name" found but
 * not placed, " !name" not found (for an in-module target: not yet); a
 * placed return probe adds ":missed", a wrapped one "@ftrace".
 */
int wq_hooks_show_targets(struct wq_hook_set *set, char *buf, int n)
{
	const struct wq_hook *h;

	mutex_lock(&set->lock);
	for (h = set->hooks; h < set->hooks + set->nr; h++) {
		n += scnprintf(buf + n, PAGE_SIZE - n, " %s%s",
			       h->armed ? "+" : h->used ? "" : "!",
			       h->used ?: h->names[0]);
		if (h->armed && h->wrapped)
			n += scnprintf(buf + n, PAGE_SIZE - n, "@ftrace");
		else if (h->armed && h->kind == WQ_HOOK_KRETPROBE)
			n += scnprintf(buf + n, PAGE_SIZE - n, ":%lu",
				       wq_hook_missed(h));
	}
	mutex_unlock(&set->lock);
	return n;
}

/* A set: "armed" (any target placed) or "disarmed", then its targets. */
static int wq_hooks_show_set(struct wq_hook_set *set, char *buf, int n)
{
	n += scnprintf(buf + n, PAGE_SIZE - n, "%s",
		       wq_hooks_armed(set) ? "armed" : "disarmed");
	return wq_hooks_show_targets(set, buf, n);
}

static int wq_hooks_set_param_get(char *buf, const struct kernel_param *kp)
{
	int n = wq_hooks_show_set(kp->arg, buf, 0);

	return n + scnprintf(buf + n, PAGE_SIZE - n, "\n");
}

const struct kernel_param_ops wq_hooks_set_param_ops = {
	.get = wq_hooks_set_param_get,
};

static int wq_hooks_arms_param_get(char *buf, const struct kernel_param *kp)
{
	const struct wq_hook_set *set = kp->arg;

	return scnprintf(buf, PAGE_SIZE, "%lu\n", READ_ONCE(set->arms));
}

const struct kernel_param_ops wq_hooks_arms_param_ops = {
	.get = wq_hooks_arms_param_get,
};

/* hooks (read-only): one line per set, "<set>: " and the set's state */
static int wq_hooks_param_get(char *buf, const struct kernel_param *kp)
{
	struct wq_hook_set *set;
	int n = 0;

	mutex_lock(&wq_hook_sets_lock);
	list_for_each_entry(set, &wq_hook_sets, node) {
		n += scnprintf(buf + n, PAGE_SIZE - n, "%s: ", set->name);
		n = wq_hooks_show_set(set, buf, n);
		n += scnprintf(buf + n, PAGE_SIZE - n, "\n");
	}
	mutex_unlock(&wq_hook_sets_lock);
	return n;
}

static const struct kernel_param_ops wq_hooks_param_ops = {
	.get = wq_hooks_param_get,
};
module_param_cb(hooks, &wq_hooks_param_ops, NULL, 0444);
MODULE_PARM_DESC(hooks, "Hook sets, one a line: armed, then each target (+ placed, ! not found, :missed returns, @ftrace redirected)");
