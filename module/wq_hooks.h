/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The hook engine: every kprobe, kretprobe and tracepoint probe the event
 * sources place goes through it.  A source describes its hooks in a table
 * (struct wq_hook) grouped in a set (struct wq_hook_set); the engine finds
 * the targets at load, arms and disarms a set in one pass, places probes
 * again whose module target was reloaded, reports missed calls to the
 * source and renders the sets in the "hooks" module parameter.  Source
 * files keep only their handlers and tables.
 */
#ifndef _WQ_HOOKS_H
#define _WQ_HOOKS_H

#include <linux/kprobes.h>
#include <linux/list.h>
#include <linux/moduleparam.h>
#include <linux/mutex.h>
#include <linux/tracepoint.h>
#include <linux/types.h>

enum wq_hook_kind {
	WQ_HOOK_KPROBE,		/* .pre at the entry of a function */
	WQ_HOOK_KRETPROBE,	/* .entry and .ret, .data_size per call */
	WQ_HOOK_TRACEPOINT,	/* .tp_probe on a core kernel tracepoint */
	/*
	 * The place for a later kind: an ftrace_ops callback, or an fprobe
	 * where the kernel has CONFIG_FPROBE (chosen at load by a feature
	 * probe, falling back to WQ_HOOK_KPROBE/KRETPROBE).  It needs its
	 * handler type in struct wq_hook, its member of the union there, and
	 * a case in each switch of wq_hooks.c (register, unregister batch,
	 * missed count); the tables and the sources stay as they are.
	 */
};

enum wq_hook_need {
	WQ_HOOK_REQUIRED,	/* the set is unavailable without it */
	WQ_HOOK_OPTIONAL,	/* may be missing: only its records are */
	/*
	 * In a module (ext4.ko): looked for when the set is armed (the
	 * module may be loaded later), placed again if it was reloaded.
	 * Kprobe kinds only.
	 */
	WQ_HOOK_IN_MODULE,
};

/* struct wq_hook.flags */
/* Missing on most supported kernels (5.10's __ext4_abort): never warn */
#define WQ_HOOK_MAY_BE_MISSING	BIT(0)

/* wq_hooks_arm() flags */
/* The in-module targets should exist now: warn about those missing */
#define WQ_HOOKS_ARM_WARN_MODULE	BIT(0)

/* Return probe data, allocated and zeroed in one of these sizes */
#define WQ_HOOK_DATA_SMALL	32
#define WQ_HOOK_DATA_MEDIUM	64
#define WQ_HOOK_DATA_MAX	128

#define WQ_HOOK_NAMES	2
/* Hooks in one set at most (a bit mask of them, batches on the stack) */
#define WQ_HOOKS_MAX	24

struct wq_hook {
	/* The table: what the source describes */
	const char		*names[WQ_HOOK_NAMES];	/* first found is used */
	enum wq_hook_kind	kind;
	enum wq_hook_need	need;
	unsigned int		flags;		/* WQ_HOOK_* */
	unsigned int		tags;		/* the source's, wq_hooks_found() */
	const char		*without;	/* optional: what goes missing */
	kprobe_pre_handler_t	pre;		/* WQ_HOOK_KPROBE */
	kretprobe_handler_t	entry, ret;	/* WQ_HOOK_KRETPROBE; entry optional */
	size_t			data_size;	/* zeroed before .entry */
	unsigned int		maxactive;	/* 0: the set's default */
	void			*tp_probe;	/* WQ_HOOK_TRACEPOINT */

	/* The engine's state, under the set's lock */
	struct wq_hook_set	*set;
	const char		*used;		/* the name found, NULL: not yet */
	unsigned int		data_class;	/* data_size rounded: see below */
	bool			armed;		/* stays set until unregistered */
	atomic_long_t		missed_seen;	/* misses already reported */
	union {
		struct kprobe		kp;
		struct kretprobe	rp;
		struct tracepoint	*tp;
	};
};

struct wq_hook_set {
	const char		*name;		/* in the hooks parameter */
	const char		*what;		/* "key notifications": turned off */
	struct wq_hook		*hooks;
	unsigned int		nr;
	/* Return instances of hooks with maxactive 0: a tunable, or 0 for 16 */
	const unsigned int	*maxactive;
	/* Optional: told of calls a probe missed, from any context */
	void			(*lost)(unsigned long missed);

	/* The engine's state */
	struct mutex		lock;		/* arming, disarming, rendering */
	unsigned long		arms;		/* times armed since load */
	struct list_head	node;		/* in the hooks parameter */
};

/* struct wq_hook_set var = { WQ_HOOK_SET(var, "keys", "...", table), ... } */
#define WQ_HOOK_SET(var, n, w, table)					\
	.name = (n), .what = (w), .hooks = (table),			\
	.nr = ARRAY_SIZE(table) +					\
	      BUILD_BUG_ON_ZERO(ARRAY_SIZE(table) > WQ_HOOKS_MAX),		\
	.lock = __MUTEX_INITIALIZER((var).lock),			\
	.node = LIST_HEAD_INIT((var).node)

/* At load: find which targets exist (in-module ones are looked for later). */
void wq_hooks_init(struct wq_hook_set *set);
/* Every required hook was found. */
bool wq_hooks_available(struct wq_hook_set *set);
/* Any hook with one of @tags was found (looks for in-module ones again). */
bool wq_hooks_found(struct wq_hook_set *set, unsigned int tags);
/*
 * Place every hook found that is not placed (again, if its module was
 * reloaded); a required one that cannot be placed disarms the set.
 */
int wq_hooks_arm(struct wq_hook_set *set, unsigned int flags);
/* Remove them all; no handler runs any more once it returns. */
void wq_hooks_disarm(struct wq_hook_set *set);
bool wq_hooks_armed(struct wq_hook_set *set);
/* For handlers: whether @h is placed (it stays so until unregistered). */
static inline bool wq_hook_armed(const struct wq_hook *h)
{
	return READ_ONCE(h->armed);
}

/* Appends the set's targets as "hooks" shows them at @buf + @n; new @n. */
int wq_hooks_show_targets(struct wq_hook_set *set, char *buf, int n);
/* A set's line in "hooks", for a parameter named after it (arg: the set). */
extern const struct kernel_param_ops wq_hooks_set_param_ops;
/* A set's arm count (arg: the set). */
extern const struct kernel_param_ops wq_hooks_arms_param_ops;

#endif /* _WQ_HOOKS_H */
