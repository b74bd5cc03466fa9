/* SPDX-License-Identifier: GPL-2.0 */
/* Kprobes API differences (see compat/Kbuild.probes for the HAVE_* probes). */
#ifndef _WQ_COMPAT_KPROBES_H
#define _WQ_COMPAT_KPROBES_H

#include <linux/kprobes.h>

/*
 * The kretprobe an instance belongs to: get_kretprobe() since 5.11's
 * lockless kretprobe rework; 5.10 keeps it in ri->rp.
 */
static inline struct kretprobe *wq_kretprobe_of(struct kretprobe_instance *ri)
{
#ifdef HAVE_GET_KRETPROBE
	return get_kretprobe(ri);
#else
	return ri->rp;
#endif
}

#endif /* _WQ_COMPAT_KPROBES_H */
