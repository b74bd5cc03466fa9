/* SPDX-License-Identifier: GPL-2.0 */
/* Key API differences (see compat/Kbuild.probes for the HAVE_* probes). */
#ifndef _WQ_COMPAT_KEYS_H
#define _WQ_COMPAT_KEYS_H

#include <linux/key.h>
#include <linux/kprobes.h>

/*
 * lookup_user_key()'s lookup flags are an enum in <linux/key.h> in 6.1 and
 * later; 5.10 keeps the same values private in security/keys/internal.h.
 */
#ifdef HAVE_KEY_LOOKUP_FLAGS
#define WQ_KEY_LOOKUP_CREATE	KEY_LOOKUP_CREATE
#else
#define WQ_KEY_LOOKUP_CREATE	0x01
#endif

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

#endif /* _WQ_COMPAT_KEYS_H */
