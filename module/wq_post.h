/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _WQ_POST_H
#define _WQ_POST_H

#include "wq_core.h"

/* Post to one queue, bypassing its filter (meta records); any context. */
bool wq_queue_post(struct wq_queue *q, const struct wq_notification *n);

/* Write a pending loss record if the ring now has room. */
void wq_queue_flush_loss(struct wq_queue *q);

#endif /* _WQ_POST_H */
