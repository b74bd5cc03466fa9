/* SPDX-License-Identifier: GPL-2.0 */
/* The key source: watches by key serial and the records upstream posts. */
#ifndef _WQ_KEYS_H
#define _WQ_KEYS_H

#include <linux/key.h>
#include "wq_core.h"
#include "wq_key_slots.h"
#include "wq_objtab.h"

/* Called from the hooks; any context. */
void wq_key_notify(key_serial_t serial, enum wq_key_subtype subtype, u32 aux);
/* Posts the current task's waiting link (wq_key_slots.h), if any. */
void wq_key_link_post(void);
static inline void wq_key_link_done(void)
{
	if (wq_key_links_any())
		wq_key_link_post();
}
void wq_key_destroyed(key_serial_t serial);
/* A hook missed @count calls: every queue watching keys is told. */
void wq_keys_lost(unsigned long count);

/* The watched keys, by serial; here for the test below. */
extern struct wq_objtab wq_key_tab;

/*
 * Whether @serial may have watchers, without a look-up: false for most
 * keys nobody watches (those whose bucket in the table is empty).  For
 * the hottest hooks, inlined into them; they run only while some key is
 * watched, or was until moments ago (its object not yet gone).
 */
static inline bool wq_key_maybe_watched(key_serial_t serial)
{
	return wq_objtab_may_have(&wq_key_tab, serial);
}

#endif /* _WQ_KEYS_H */
