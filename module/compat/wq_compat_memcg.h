/* SPDX-License-Identifier: GPL-2.0 */
/* Memory cgroup charging scope (see compat/Kbuild.probes). */
#ifndef _WQ_COMPAT_MEMCG_H
#define _WQ_COMPAT_MEMCG_H

#include <linux/memcontrol.h>
#include <linux/sched/mm.h>

/*
 * set_active_memcg() is inline and, outside task context, writes the
 * per-CPU int_active_memcg, which 5.10 does not export to modules.  There
 * the ring is charged to the memory cgroup of the task that sizes the
 * queue, normally its opener.
 */
static inline struct mem_cgroup *wq_set_active_memcg(struct mem_cgroup *memcg)
{
#ifdef HAVE_EXPORTED_ACTIVE_MEMCG
	return set_active_memcg(memcg);
#else
	return NULL;
#endif
}

#endif /* _WQ_COMPAT_MEMCG_H */
