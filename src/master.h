// The master process: owns the config cycle and the listening sockets,
// starts, reloads, replaces and stops workers. Plain POSIX signals and
// sigsuspend, like nginx: no event loop, so nothing of it leaks into a
// forked worker.
#pragma once

#include <memory>

#include "cycle.h"

namespace gannet {

// Runs in the foreground until stopped; returns the exit code.
int run_master(std::unique_ptr<Cycle> cycle);

}  // namespace gannet
