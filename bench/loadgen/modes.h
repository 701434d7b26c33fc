// The three modes. Each runs a whole benchmark, prints its report and
// returns the exit status: 0, or 3 when any error was counted, 1 when the run
// could not start.
#pragma once

#include "bench/loadgen/options.h"

namespace wsd::loadgen {

int run_echo(const Options& options);
int run_idle(const Options& options);
int run_broadcast(const Options& options);

}  // namespace wsd::loadgen
