/* SPDX-License-Identifier: GPL-2.0 */
/* Per-user limits on queues, watches and ring memory. */
#ifndef _WQ_USER_H
#define _WQ_USER_H

#include <linux/cred.h>

struct wq_user;

/* The current user's accounting, created on first use; NULL if no memory. */
struct wq_user *wq_user_get(void);
void wq_user_put(struct wq_user *u);

/* Each returns 0 or the errno for the limit hit (EMFILE, EAGAIN, ENOSPC). */
int wq_user_charge_queue(struct wq_user *u);
void wq_user_uncharge_queue(struct wq_user *u);
int wq_user_charge_watch(struct wq_user *u);
void wq_user_uncharge_watch(struct wq_user *u);
int wq_user_charge_ring(struct wq_user *u, u64 bytes);
void wq_user_uncharge_ring(struct wq_user *u, u64 bytes);

/* CAP_SYS_RESOURCE: usage is counted, limits are not applied. */
bool wq_user_exempt(void);
/* Mount tables, for a user exempt or not as decided at the request. */
extern unsigned long wq_max_user_mount_table_bytes;
u64 wq_user_mount_table_room(struct wq_user *u, bool exempt);
int wq_user_charge_mount_table(struct wq_user *u, u64 bytes, bool exempt);
void wq_user_uncharge_mount_table(struct wq_user *u, u64 bytes);

void wq_user_exit(void);

#endif /* _WQ_USER_H */
