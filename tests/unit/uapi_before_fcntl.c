/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The ABI header must compile before glibc's <fcntl.h> (C and C++). */
#include <linux/wq_dev.h>
#include <fcntl.h>

int uapi_before_fcntl(void);
int uapi_before_fcntl(void)
{
	return (int)sizeof(struct wq_notification_filter) + O_NONBLOCK;
}
