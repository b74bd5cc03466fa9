// SPDX-License-Identifier: GPL-2.0-or-later
// Adding the watches the options ask for, with the messages wqmon prints
// when one cannot be added.
#pragma once

#include <string>

#include "options.hpp"
#include "output.hpp"
#include <watchqueue/queue.hpp>

namespace wqmon {

// A failure with the message to print (exit status 1).
struct Fatal {
    std::string message;
};

// The global device watch's id; the others count up from 0.
inline constexpr unsigned devices_watch_id = 255;

// The queue backend the options need: a notification pipe can stand in for
// the device only when keys are all there is to watch.
watchqueue::Backend backend_for(const Options& o) noexcept;

// Adds every watch and records what each watch id stands for in @labels.
// Throws Fatal.
void add_watches(watchqueue::Queue& queue, const Options& o, WatchLabels& labels);

} // namespace wqmon
