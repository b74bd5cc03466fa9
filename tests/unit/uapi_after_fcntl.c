/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The ABI header must compile after glibc's <fcntl.h> (C and C++). */
#include <fcntl.h>
#include <linux/wq_dev.h>

int uapi_after_fcntl(void);
int uapi_after_fcntl(void)
{
	return (int)sizeof(struct wq_ring_info) + O_CLOEXEC;
}
