// The broadcast publisher of --publish-url: HTTP/1.1 GET requests on one
// keep-alive connection, one request in flight. Lives on worker thread 0.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "bench/loadgen/pollable.h"

namespace wsd::loadgen {

class WorkerThread;

class HttpPublisher final : public Pollable {
 public:
  // Requests are "GET <url_prefix><url-encoded message> HTTP/1.1".
  HttpPublisher(WorkerThread& worker, std::string url_prefix);
  ~HttpPublisher();
  HttpPublisher(const HttpPublisher&) = delete;
  HttpPublisher& operator=(const HttpPublisher&) = delete;

  // True when a request may be sent now; (re)connects when there is no
  // connection (at most every 100 ms after a failure).
  bool ready();
  void publish(std::string_view message);
  void on_events(uint32_t events) override;

 private:
  // Down: no socket. Connecting: connect() in progress. Ready: connected,
  // nothing in flight. Waiting: a request sent, its response not complete.
  enum class State : uint8_t { Down, Connecting, Ready, Waiting };

  void connect();
  void read_response();
  // Consumes one complete response from in_; false while incomplete.
  bool take_response(int& status, bool& keep_alive);
  void drop(bool failed);

  WorkerThread& worker_;
  std::string prefix_;
  std::string request_;
  std::string in_;
  uint64_t retry_at_ = 0;
  int fd_ = -1;
  State state_ = State::Down;
};

}  // namespace wsd::loadgen
