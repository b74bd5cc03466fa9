/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The ring and per-user limits, module parameters that root may change at
 * any time: read them once per use with READ_ONCE.
 */
#ifndef _WQ_LIMITS_H
#define _WQ_LIMITS_H

extern unsigned long wq_max_ring_bytes;
extern unsigned long wq_default_ring_bytes;
extern unsigned long wq_max_user_ring_bytes;
extern unsigned int wq_max_user_queues;
extern unsigned int wq_max_user_watches;

#endif /* _WQ_LIMITS_H */
