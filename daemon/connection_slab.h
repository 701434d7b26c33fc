// Connection records come from blocks of kCellsPerBlock, as nginx keeps its
// connection structures in one array: no malloc header and no rounding up to
// 16 bytes per record (112 bytes instead of malloc's 128-byte chunk), and
// long-lived records packed together rather than among the short-lived
// allocations of handshakes. A freed record goes on a free list for the next
// connection; blocks stay for the slab's life, so the memory of the peak
// number of connections stays with the reactor, as it would in malloc's heap.
// Not thread-safe: one slab per reactor.
#pragma once

#include <cstddef>
#include <memory>
#include <new>
#include <utility>
#include <vector>

#include "daemon/connection.h"

namespace wsd::daemon {

class ConnectionSlab {
 public:
  ConnectionSlab() = default;
  ConnectionSlab(const ConnectionSlab&) = delete;
  ConnectionSlab& operator=(const ConnectionSlab&) = delete;
  // Every record must have been destroyed first.
  ~ConnectionSlab() = default;

  template <class... Args>
  Connection* create(Args&&... args) {
    if (!free_) grow();
    Cell* cell = free_;
    free_ = cell->next;
    return new (cell->bytes) Connection(std::forward<Args>(args)...);
  }

  void destroy(Connection* c) {
    c->~Connection();
    auto* cell = reinterpret_cast<Cell*>(c);
    cell->next = free_;
    free_ = cell;
  }

  size_t blocks() const { return blocks_.size(); }

 private:
  // 512 records, about 52 KiB: below malloc's mmap threshold.
  static constexpr size_t kCellsPerBlock = 512;
  union Cell {
    Cell* next;
    alignas(Connection) unsigned char bytes[sizeof(Connection)];
  };

  // A new block's cells go on the free list, first cell first out.
  void grow() {
    blocks_.push_back(std::make_unique_for_overwrite<Cell[]>(kCellsPerBlock));
    Cell* block = blocks_.back().get();
    for (size_t i = kCellsPerBlock; i-- > 0;) {
      block[i].next = free_;
      free_ = &block[i];
    }
  }

  std::vector<std::unique_ptr<Cell[]>> blocks_;
  Cell* free_ = nullptr;
};

}  // namespace wsd::daemon
