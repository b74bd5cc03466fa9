/* SPDX-License-Identifier: GPL-2.0 */
/* Key API differences (see compat/Kbuild.probes for the HAVE_* probes). */
#ifndef _WQ_COMPAT_KEYS_H
#define _WQ_COMPAT_KEYS_H

#include <linux/key.h>

/*
 * lookup_user_key()'s lookup flags are an enum in <linux/key.h> in 6.1 and
 * later; 5.10 keeps the same values private in security/keys/internal.h.
 */
#ifdef HAVE_KEY_LOOKUP_FLAGS
#define WQ_KEY_LOOKUP_CREATE	KEY_LOOKUP_CREATE
#else
#define WQ_KEY_LOOKUP_CREATE	0x01
#endif

#endif /* _WQ_COMPAT_KEYS_H */
