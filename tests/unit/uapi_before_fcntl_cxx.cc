// SPDX-License-Identifier: GPL-2.0-or-later
// The ABI header must compile before glibc's <fcntl.h>, in C++ too.
// The include order is what this file tests:
// clang-format off
#include <linux/wq_dev.h>
#include <fcntl.h>

int uapi_before_fcntl_cxx();
int uapi_before_fcntl_cxx()
{
	return static_cast<int>(sizeof(struct wq_notification_filter)) + O_NONBLOCK;
}
