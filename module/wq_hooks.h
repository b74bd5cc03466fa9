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

#include <linux/atomic.h>
#include <linux/kprobes.h>
#include <linux/list.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/mutex.h>
#include <linux/tracepoint.h>
#include <linux/types.h>
#include "compat/wq_compat_ftrace.h"

enum wq_hook_kind {
	WQ_HOOK_KPROBE,		/* .pre at the entry of a function */
	WQ_HOOK_KRETPROBE,	/* .entry and .ret, .data_size per call */
	WQ_HOOK_TRACEPOINT,	/* .tp_probe on a core kernel tracepoint */
};

/*
 * The cheaper way to follow an exported function's calls to their return,
 * which a WQ_HOOK_KRETPROBE hook may name in .wrap: an ftrace callback at
 * the function's entry passes the call's first two arguments to a "want"
 * test and, if it says yes, sends the call on to a wrapper, which has the
 * function's prototype, calls the function itself and posts what it
 * returned.  An unwanted call (a key nobody watches) costs one ftrace
 * callback rather than a return probe's entry, a wanted one no return
 * trampoline, and no call is ever missed for want of an instance.  Where
 * the kernel does not allow it (5.10: see compat/wq_compat_ftrace.h) or
 * the function is already redirected (a live patch), the engine places
 * the kretprobe.  Defined with WQ_HOOK_WRAP().
 */
struct wq_hook_wrap {
	void		*target;	/* the exported function; NULL: entry only */
#ifdef WQ_HOOKS_WRAP
	ftrace_func_t	call;		/* the callback WQ_HOOK_WRAP() made */
#endif
};

/*
 * @var: a struct wq_hook_wrap for the exported function @fn, whose calls
 * @want(arg0, arg1) says yes to go to @wrapper (checked to have @fn's
 * prototype).  The callback is made here, so that @want (static inline,
 * lockless) is inlined into it: this is the hot path of every call of @fn
 * while the hook is armed.  A wanted call whose caller is in this module
 * is the wrapper's own: it goes on.
 */
#define WQ_HOOK_WRAP_CHECK(fn, wrapper, want)				\
static_assert(__same_type(&(wrapper), &(fn)) &&			\
	      __same_type(&(want), bool (*)(unsigned long, unsigned long)))
#ifdef WQ_HOOKS_WRAP
#define WQ_HOOK_WRAP(var, fn, wrapper, want)				\
WQ_HOOK_WRAP_CHECK(fn, wrapper, want);					\
static void notrace var##_call(unsigned long ip, unsigned long parent_ip, \
			       struct ftrace_ops *op,			\
			       struct ftrace_regs *fregs)		\
{									\
	if (want(wq_fregs_arg(fregs, 0), wq_fregs_arg(fregs, 1)) &&	\
	    !within_module(parent_ip, THIS_MODULE))			\
		wq_fregs_set_ip(fregs, (unsigned long)(wrapper));	\
}									\
static const struct wq_hook_wrap var = { .target = (fn), .call = var##_call }
#else
#define WQ_HOOK_WRAP(var, fn, wrapper, want)				\
WQ_HOOK_WRAP_CHECK(fn, wrapper, want);					\
static const struct wq_hook_wrap var = { .target = (fn) }
#endif

/*
 * The cheaper way to run a WQ_HOOK_KPROBE hook's .pre, which the hook may
 * name in .wrap: an ftrace callback at the entry of the function it
 * names, exported or not, that passes the call's first two arguments to
 * @handler (static inline, inlined into the callback) and redirects
 * nothing.  It costs a tenth of a kprobe's entry, and other ftrace users
 * (a live patch) may share the function.  Where the kernel does not allow
 * it, the engine places the kprobe, whose .pre must do the same.
 */
#define WQ_HOOK_ENTRY_CHECK(handler)					\
static_assert(__same_type(&(handler), void (*)(unsigned long, unsigned long)))
#ifdef WQ_HOOKS_WRAP
#define WQ_HOOK_ENTRY(var, handler)					\
WQ_HOOK_ENTRY_CHECK(handler);						\
static void notrace var##_call(unsigned long ip, unsigned long parent_ip, \
			       struct ftrace_ops *op,			\
			       struct ftrace_regs *fregs)		\
{									\
	handler(wq_fregs_arg(fregs, 0), wq_fregs_arg(fregs, 1));	\
}									\
static const struct wq_hook_wrap var = { .call = var##_call }
#else
#define WQ_HOOK_ENTRY(var, handler)					\
WQ_HOOK_ENTRY_CHECK(handler);						\
static const struct wq_hook_wrap var = { }
#endif
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
	const struct wq_hook_wrap *wrap;	/* optional, see above */

	/* The engine's state, under the set's lock */
	struct wq_hook_set	*set;
	const char		*used;		/* the name found, NULL: not yet */
	unsigned int		data_class;	/* data_size rounded: see below */
	bool			armed;		/* stays set until unregistered */
	bool			wrapped;	/* placed as .wrap says */
	atomic_long_t		missed_seen;	/* misses already reported */
	union {
		struct kprobe		kp;
		struct kretprobe	rp;
		struct tracepoint	*tp;
	};
#ifdef WQ_HOOKS_WRAP
	struct ftrace_ops	fops;		/* when wrapped */
#endif
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

/*
 * Calls under way in wrappers, which module exit waits for: a wrapper
 * brackets its call of the target with these.
 */
extern atomic_t wq_hook_wrappers_running;
static inline void wq_hook_wrapper_enter(void)
{
	atomic_inc(&wq_hook_wrappers_running);
}

static inline void wq_hook_wrapper_exit(void)
{
	atomic_dec(&wq_hook_wrappers_running);
}

/* At module exit, after every set is disarmed. */
void wq_hooks_exit(void);

/* Appends the set's targets as "hooks" shows them at @buf + @n; new @n. */
int wq_hooks_show_targets(struct wq_hook_set *set, char *buf, int n);
/* A set's line in "hooks", for a parameter named after it (arg: the set). */
extern const struct kernel_param_ops wq_hooks_set_param_ops;
/* A set's arm count (arg: the set). */
extern const struct kernel_param_ops wq_hooks_arms_param_ops;

#endif /* _WQ_HOOKS_H */
