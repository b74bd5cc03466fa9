// SPDX-License-Identifier: LGPL-2.1-or-later
/// @file
/// libwatchqueue, all of it: the C++20 client of /dev/watch_queue (and of
/// upstream's notification pipes where the kernel has them).
#pragma once

#include "api.hpp"                // IWYU pragma: export
#include "error.hpp"              // IWYU pragma: export
#include "filter.hpp"             // IWYU pragma: export
#include "queue.hpp"              // IWYU pragma: export
#include "record.hpp"             // IWYU pragma: export
#include "records.hpp"            // IWYU pragma: export
#include "ring.hpp"               // IWYU pragma: export
#include "udev.hpp"               // IWYU pragma: export
#include "watch.hpp"              // IWYU pragma: export
#include <watchqueue/version.hpp> // IWYU pragma: export (generated)
