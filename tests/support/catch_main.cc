// SPDX-License-Identifier: GPL-2.0-or-later
// Catch2 v2's main(), compiled once for every test binary (v3 links its own
// from catch2-with-main, and this file is then not built).
#define CATCH_CONFIG_MAIN
#include "wq_catch.hpp"
