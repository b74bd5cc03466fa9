/* SPDX-License-Identifier: GPL-2.0 */
/* Memory cgroup charging scope (see compat/Kbuild.probes). */
#ifndef _WQ_COMPAT_MEMCG_H
#define _WQ_COMPAT_MEMCG_H

#include <linux/bug.h>
#include <linux/memcontrol.h>
#include <linux/preempt.h>
#include <linux/sched.h>
#include <linux/sched/mm.h>

/*
 * Charges __GFP_ACCOUNT allocations to @memcg until the previous value
 * returned is put back.  Task context only (an ioctl or a worker).
 *
 * set_active_memcg() is inline and refers to the per-CPU int_active_memcg,
 * which 5.10 does not export to modules, for its interrupt branch.  Its
 * task branch is all this needs, and is what 5.10 does: the task's own
 * active_memcg.
 */
static inline struct mem_cgroup *wq_set_active_memcg(struct mem_cgroup *memcg)
{
#if defined(HAVE_EXPORTED_ACTIVE_MEMCG)
	return set_active_memcg(memcg);
#elif defined(CONFIG_MEMCG)
	struct mem_cgroup *old = current->active_memcg;

	WARN_ON_ONCE(in_interrupt());
	current->active_memcg = memcg;
	return old;
#else
	return NULL;
#endif
}

#endif /* _WQ_COMPAT_MEMCG_H */
