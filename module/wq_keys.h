/* SPDX-License-Identifier: GPL-2.0 */
/* The key source: watches by key serial and the records upstream posts. */
#ifndef _WQ_KEYS_H
#define _WQ_KEYS_H

#include <linux/key.h>
#include "wq_core.h"

/* Called from the hooks; any context. */
void wq_key_notify(key_serial_t serial, enum wq_key_subtype subtype, u32 aux);
bool wq_key_watched(key_serial_t serial);
void wq_key_destroyed(key_serial_t serial);
/* A hook missed @count calls: every queue watching keys is told. */
void wq_keys_lost(unsigned long count);

#endif /* _WQ_KEYS_H */
