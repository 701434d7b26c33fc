// The slot index: session slot -> Connection*, one pointer per session table
// slot (the master's reactors share one; a BASE worker has its own). It is
// large (8 bytes times the table's capacity) and mostly unused, so it is its
// own anonymous mapping: only pages holding a live connection's pointer are
// resident. From malloc it could be a reused, dirty part of the heap (wsd
// keeps freed memory up to M_MMAP_THRESHOLD, see main.cc), zeroed in full by
// calloc and then resident in full.
#pragma once

#include <sys/mman.h>

#include <cstddef>
#include <new>

namespace wsd::daemon {

struct Connection;

inline Connection** map_slot_index(size_t slots) {
  void* p = mmap(nullptr, slots * sizeof(Connection*), PROT_READ | PROT_WRITE,
                 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (p == MAP_FAILED) throw std::bad_alloc();
  return static_cast<Connection**>(p);   // anonymous pages start zeroed
}

inline void unmap_slot_index(Connection** index, size_t slots) {
  if (index) munmap(index, slots * sizeof(Connection*));
}

}  // namespace wsd::daemon
