// wsd: parse the flags, load the config, hand over to the master (or, when
// the master started us as a worker, to the worker).
#include <malloc.h>
#include <signal.h>
#include <unistd.h>

#include <climits>
#include <cstdio>
#include <string>

#include "config/loader.h"
#include "daemon/cli.h"
#include "daemon/logging.h"
#include "daemon/master.h"
#include "daemon/process_setup.h"
#include "daemon/settings.h"
#include "daemon/worker.h"

#ifndef WSD_VERSION
#define WSD_VERSION "unknown"
#endif

namespace {
std::string self_executable() {
  char buf[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
  return n > 0 ? std::string(buf, static_cast<size_t>(n)) : std::string("wsd");
}
}  // namespace

int main(int argc, char** argv) {
  using namespace wsd;
  // SIGUSR1 (reopen logs) must not kill a process that has not set up its
  // handler yet; the master's and the workers' event loops take it over.
  signal(SIGUSR1, SIG_IGN);
  // Large messages come and go all the time: glibc would hand their memory
  // back to the kernel after each one (mmap above 128 KiB, trimming the heap
  // top) and fault it in again for the next, zero-filled. Keep it.
  mallopt(M_MMAP_THRESHOLD, 4 * 1024 * 1024);
  mallopt(M_TRIM_THRESHOLD, 32 * 1024 * 1024);
  daemon::CommandLine cl;
  std::string error;
  if (!daemon::parse_command_line(argc, argv, cl, error)) {
    std::fprintf(stderr, "wsd: %s\nTry 'wsd --help' for the options.\n", error.c_str());
    return 2;
  }
  if (cl.help) {
    std::fputs(daemon::usage(), stdout);
    return 0;
  }
  if (cl.version) {
    std::printf("wsd %s (plugin ABI %u)\n", WSD_VERSION, WSD_PLUGIN_ABI_VERSION);
    return 0;
  }
  config::LoadResult loaded = config::load_config_file(cl.config_path, cl.overrides);
  if (!loaded.ok) {
    for (const std::string& e : loaded.errors) std::fprintf(stderr, "wsd: %s\n", e.c_str());
    std::fprintf(stderr, "wsd: configuration %s refused; nothing was started (options: man server.yaml)\n",
                 cl.config_path.c_str());
    return 1;
  }
  if (cl.test_config) {
    // Like nginx -t: the certificates and keys are loaded too, not just named.
    daemon::Settings settings = daemon::make_settings(loaded.config);
    if (!daemon::load_listeners(settings, loaded.config, error)) {
      std::fprintf(stderr, "wsd: %s\nwsd: configuration %s refused; nothing was started\n", error.c_str(), cl.config_path.c_str());
      return 1;
    }
    std::printf("wsd: configuration %s is valid\n", cl.config_path.c_str());
    return 0;
  }
  if (cl.worker >= 0) {
    daemon::setup_logging(loaded.config, "worker " + std::to_string(cl.worker));
    daemon::WorkerLaunch launch;
    launch.id = cl.worker;
    launch.session_fd = cl.session_fd;
    launch.stats_fd = cl.stats_fd;
    launch.channel_fds = cl.worker_fds;
    launch.control_fd = cl.control_fd;
    launch.listen_fds = cl.listen_fds;
    daemon::Worker worker(loaded.config, launch);
    return worker.run();
  }
  if (loaded.config.daemonize) {
    // Before any thread, socket or worker exists: the parent exits 0.
    std::string derr;
    if (!daemon::daemonize(derr)) {
      std::fprintf(stderr, "wsd: %s\n", derr.c_str());
      return 1;
    }
  }
  daemon::setup_logging(loaded.config, "master");
  daemon::Master master(loaded.config, {self_executable(), cl.config_path, cl.overrides});
  return master.run();
}
