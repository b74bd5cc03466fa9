// SPDX-License-Identifier: GPL-2.0
/* The ring and per-user limits: module parameters (wq_limits.h). */
#include <linux/moduleparam.h>
#include "wq_core.h"
#include "wq_limits.h"

unsigned long wq_max_ring_bytes = 16UL << 20;
module_param_named(max_ring_bytes, wq_max_ring_bytes, ulong, 0644);
MODULE_PARM_DESC(max_ring_bytes, "Largest ring per queue, bytes (default 16 MiB)");

unsigned long wq_default_ring_bytes = 256 * WQ_NOTE_SIZE;
module_param_named(default_ring_bytes, wq_default_ring_bytes, ulong, 0644);
MODULE_PARM_DESC(default_ring_bytes, "Ring size of a queue watched before it was sized (default 32 KiB)");

unsigned long wq_max_user_ring_bytes = 256UL << 20;
module_param_named(max_user_ring_bytes, wq_max_user_ring_bytes, ulong, 0644);
MODULE_PARM_DESC(max_user_ring_bytes, "Ring memory per user, bytes (default 256 MiB)");

unsigned int wq_max_user_queues = 1024;
module_param_named(max_user_queues, wq_max_user_queues, uint, 0644);
MODULE_PARM_DESC(max_user_queues, "Open queues per user (default 1024)");

unsigned int wq_max_user_watches = 8192;
module_param_named(max_user_watches, wq_max_user_watches, uint, 0644);
MODULE_PARM_DESC(max_user_watches, "Watches per user (default 8192)");
