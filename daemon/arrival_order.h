// The order in which a PROCESS reactor writes the connections it has output
// for: the one read longest ago first, as a single process answering its
// messages one by one would (Reactor::send_in_arrival_order).
#pragma once

#include <algorithm>
#include <cstdint>
#include <vector>

namespace wsd::daemon {

// `latest` is the reactor's read counter now and each T's `read_seq` its
// value when that connection was last read; both wrap at 65,536 reads, so
// the age `latest - read_seq` is right for anything read within the last
// 65,536 reads (a connection read longer ago, or never, just lands
// somewhere in the order).
template <typename T>
void sort_by_arrival(std::vector<T*>& items, uint16_t latest) {
  std::sort(items.begin(), items.end(), [latest](const T* a, const T* b) {
    return static_cast<uint16_t>(latest - a->read_seq) > static_cast<uint16_t>(latest - b->read_seq);
  });
}

}  // namespace wsd::daemon
