// SPDX-License-Identifier: LGPL-2.1-or-later
/// @file
/// What libwatchqueue exports.
///
/// The library is built with hidden visibility (`-fvisibility=hidden
/// -fvisibility-inlines-hidden`): only the declarations marked
/// #WATCHQUEUE_API are in its ABI, all of them in the inline namespace
/// `watchqueue::v0` that goes with the soname `libwatchqueue.so.0`, and
/// `debian/libwatchqueue0.symbols` lists them (README, "ABI policy").
#pragma once

/// Marks a declaration the library exports.
#define WATCHQUEUE_API __attribute__((visibility("default")))
