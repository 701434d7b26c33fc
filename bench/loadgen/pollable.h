// What an epoll event points at: a connection, the HTTP publisher, or a
// worker's wake-up eventfd.
#pragma once

#include <cstdint>

namespace wsd::loadgen {

class Pollable {
 public:
  virtual void on_events(uint32_t events) = 0;

 protected:
  ~Pollable() = default;
};

}  // namespace wsd::loadgen
