// IPC backpressure: a worker that falls behind makes the reactor stop reading
// the connections that feed it; nothing is dropped and the master's memory
// stays bounded.
#include <doctest/doctest.h>

#include <fstream>
#include <string>
#include <thread>

#include "ws_client.h"
#include "wsd_server.h"

using namespace wsd::test;

namespace {
// VmRSS of one process, in KiB.
long rss_kib(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string key;
  while (in >> key) {
    if (key == "VmRSS:") {
      long kib = 0;
      in >> kib;
      return kib;
    }
  }
  return -1;
}
}  // namespace

// ThreadSanitizer keeps shadow memory for everything the master touches
// (several times the bytes), so its RSS says less about our buffers there.
#if defined(__SANITIZE_THREAD__)  // gcc
#define UNDER_TSAN 1
#elif defined(__has_feature)       // clang
#if __has_feature(thread_sanitizer)
#define UNDER_TSAN 1
#endif
#endif
#ifdef UNDER_TSAN
constexpr long kRssGrowthBoundKiB = 64 * 1024;
#else
constexpr long kRssGrowthBoundKiB = 16 * 1024;
#endif

TEST_CASE("backpressure: a stalled worker pauses its connections, nothing is lost, memory stays bounded") {
  WsdServer server({probe_config("worker_num: 1\nbuffer_output_size: 64M\n")});
  REQUIRE_MESSAGE(server.started(), server.log());
  WsClient c(std::chrono::milliseconds(20000));
  REQUIRE(c.open(server.port()));
  long rss_before = rss_kib(server.pid());

  constexpr int kMessages = 16000;
  const std::string body(2048, 'b');   // 32 MB in all, far above the 4 MiB IPC bound
  REQUIRE(c.send_text("sleep 1500"));
  long rss_peak = rss_before;
  std::thread sender([&] {
    for (int i = 0; i < kMessages; ++i) {
      if (!c.send_binary(std::to_string(i) + ":" + body)) break;
    }
  });
  // While the worker sleeps, the master must stop reading rather than buffer.
  for (int i = 0; i < 12; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    rss_peak = std::max(rss_peak, rss_kib(server.pid()));
  }
  Received r = c.receive();
  CHECK(r.data == "slept");
  int next = 0;
  bool in_order = true;
  while (next < kMessages) {
    r = c.receive();
    if (r.kind != Received::Message) break;
    in_order = in_order && r.data.rfind(std::to_string(next) + ":", 0) == 0;
    ++next;
  }
  sender.join();
  CHECK(next == kMessages);
  CHECK(in_order);
  // The 32 MB did not pile up in the master: a few MiB of IPC queue and socket
  // buffers at most.
  CHECK_MESSAGE(rss_peak - rss_before < kRssGrowthBoundKiB, "master RSS grew by " << (rss_peak - rss_before) << " KiB");
}
