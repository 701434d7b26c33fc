// wsd-loadgen: flags, process set-up, then the mode runs the benchmark.
#include <signal.h>

#include <cstdio>

#include "bench/loadgen/modes.h"
#include "bench/loadgen/net.h"
#include "bench/loadgen/options.h"
#include "bench/loadgen/runner.h"

namespace {

void on_signal(int) { wsd::loadgen::g_interrupted = true; }

}  // namespace

int main(int argc, char** argv) {
  using namespace wsd::loadgen;
  std::string error;
  const auto options = parse_options(argc, argv, error);
  if (!options && error.empty()) {
    std::fputs(usage(), stdout);  // --help
    return 0;
  }
  if (!options) {
    std::fprintf(stderr, "wsd-loadgen: %s (see --help)\n", error.c_str());
    return 2;
  }
  signal(SIGPIPE, SIG_IGN);
  signal(SIGINT, on_signal);
  signal(SIGTERM, on_signal);
  const uint64_t fds = raise_fd_limit();
  if (fds < options->connections + 64ull) {
    std::fprintf(stderr, "wsd-loadgen: warning: %llu descriptors allowed (ulimit -Hn) for %u connections\n",
                 static_cast<unsigned long long>(fds), options->connections);
  }
  switch (options->mode) {
    case ModeKind::Echo: return run_echo(*options);
    case ModeKind::Idle: return run_idle(*options);
    case ModeKind::Broadcast: return run_broadcast(*options);
  }
  return 2;
}
