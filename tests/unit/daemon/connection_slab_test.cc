// Tests of daemon/connection_slab.h: records are constructed and destroyed
// in place, freed cells are reused before a new block is taken.
#include "daemon/connection_slab.h"

#include <doctest/doctest.h>

#include <set>
#include <vector>

using wsd::daemon::Connection;
using wsd::daemon::ConnectionSlab;

TEST_CASE("ConnectionSlab: construct, destroy, reuse") {
  wsd::core::ReaderOptions options;
  ConnectionSlab slab;
  std::vector<Connection*> live;
  for (int i = 0; i < 1000; ++i) {
    Connection* c = slab.create(options);
    CHECK(c->fd == -1);           // constructed
    CHECK(c->close_code == 1006);
    CHECK(reinterpret_cast<uintptr_t>(c) % alignof(Connection) == 0);
    c->id = static_cast<uint64_t>(i);
    c->ext().close_reason = "owned memory is released by the destructor";
    live.push_back(c);
  }
  const size_t blocks = slab.blocks();
  CHECK(blocks == 2);   // 512 records per block
  std::set<Connection*> distinct(live.begin(), live.end());
  CHECK(distinct.size() == live.size());
  for (int i = 0; i < 1000; ++i) CHECK(live[i]->id == static_cast<uint64_t>(i));

  std::set<Connection*> freed;
  for (size_t i = 0; i < live.size(); i += 2) {
    freed.insert(live[i]);
    slab.destroy(live[i]);
  }
  for (size_t i = 0; i < freed.size(); ++i) {
    Connection* c = slab.create(options);
    CHECK(freed.count(c) == 1);   // a freed cell, not a new block
    CHECK(c->extra == nullptr);
    slab.destroy(c);
    slab.create(options);         // and again the same one
  }
  CHECK(slab.blocks() == blocks);
  // The slab's destructor does not run the records' destructors: free them.
  for (size_t i = 1; i < live.size(); i += 2) slab.destroy(live[i]);
}
