// Tests of daemon/arrival_order.h: connections written oldest read first,
// across the wrap of the read counter.
#include <doctest/doctest.h>

#include <cstdint>
#include <vector>

#include "daemon/arrival_order.h"

using wsd::daemon::sort_by_arrival;

namespace {
struct Item {
  uint16_t read_seq;
  int name;
};

std::vector<int> names(const std::vector<Item*>& items) {
  std::vector<int> out;
  for (const Item* i : items) out.push_back(i->name);
  return out;
}
}  // namespace

TEST_CASE("arrival order: answers grouped by worker go out in the order their messages were read") {
  // Read in the order 1..6; worker A answered 1, 3, 5 and worker B 2, 4, 6,
  // and A's answers were read first.
  Item items[] = {{101, 1}, {102, 2}, {103, 3}, {104, 4}, {105, 5}, {106, 6}};
  std::vector<Item*> dirty{&items[0], &items[2], &items[4], &items[1], &items[3], &items[5]};
  sort_by_arrival(dirty, 106);
  CHECK(names(dirty) == std::vector<int>{1, 2, 3, 4, 5, 6});
}

TEST_CASE("arrival order: the read counter wraps") {
  // Reads 65,534, 65,535, 0, 1: the oldest is 65,534 even though its number
  // is the largest.
  Item items[] = {{1, 4}, {65534, 1}, {0, 3}, {65535, 2}};
  std::vector<Item*> dirty{&items[0], &items[1], &items[2], &items[3]};
  sort_by_arrival(dirty, 1);
  CHECK(names(dirty) == std::vector<int>{1, 2, 3, 4});
}

TEST_CASE("arrival order: a connection read just now goes last, one read long ago first") {
  Item items[] = {{500, 2}, {40000, 1}, {900, 3}};
  std::vector<Item*> dirty{&items[2], &items[0], &items[1]};
  sort_by_arrival(dirty, 900);
  CHECK(names(dirty) == std::vector<int>{1, 2, 3});
}
