// SPDX-License-Identifier: GPL-2.0-or-later
// The ABI header must compile after glibc's <fcntl.h>, in C++ too.
// The include order is what this file tests:
// clang-format off
#include <fcntl.h>
#include <linux/wq_dev.h>

int uapi_after_fcntl_cxx();
int uapi_after_fcntl_cxx()
{
	return static_cast<int>(sizeof(struct wq_ring_info)) + O_CLOEXEC;
}
