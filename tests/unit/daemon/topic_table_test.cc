// Tests of daemon/topic_table.cc: the cross-indexed membership lists against
// a plain model (topic -> set of connections), through a seeded random run of
// subscribe, unsubscribe and remove. The table never dereferences a
// Connection, so made-up pointers stand in for them.
#include "daemon/topic_table.h"

#include <doctest/doctest.h>

#include <cstdint>
#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

using wsd::daemon::Connection;
using wsd::daemon::TopicTable;

namespace {

Connection* conn(uintptr_t n) { return reinterpret_cast<Connection*>(n * 64); }

std::set<Connection*> members_of(const TopicTable& t, const std::string& topic) {
  const std::vector<Connection*>* m = t.members(topic);
  if (!m) return {};
  std::set<Connection*> s(m->begin(), m->end());
  CHECK(s.size() == m->size());   // nobody twice
  return s;
}

}  // namespace

TEST_CASE("topic table: subscribe, unsubscribe, remove") {
  TopicTable t;
  CHECK(t.size() == 0);
  CHECK(t.members("a") == nullptr);
  CHECK(t.subscribe(conn(1), "a"));
  CHECK_FALSE(t.subscribe(conn(1), "a"));   // once
  CHECK(t.subscribe(conn(2), "a"));
  CHECK(t.subscribe(conn(1), "b"));
  CHECK(t.size() == 2);
  CHECK(members_of(t, "a") == std::set<Connection*>{conn(1), conn(2)});
  CHECK(t.topics_of(conn(1)) == 2);
  CHECK_FALSE(t.unsubscribe(conn(3), "a"));
  CHECK_FALSE(t.unsubscribe(conn(2), "b"));
  CHECK(t.unsubscribe(conn(1), "a"));
  CHECK(members_of(t, "a") == std::set<Connection*>{conn(2)});
  t.remove(conn(1));
  CHECK(t.members("b") == nullptr);   // its last member left: the topic is gone
  CHECK(t.size() == 1);
  CHECK(t.topics_of(conn(1)) == 0);
  t.remove(conn(2));
  CHECK(t.size() == 0);
  t.remove(conn(2));   // nothing left: no-op
}

TEST_CASE("topic table: a random run agrees with a plain model") {
  std::mt19937 rng(42);
  TopicTable t;
  std::map<std::string, std::set<Connection*>> model;
  constexpr int kConns = 40, kTopics = 12;
  for (int step = 0; step < 20000; ++step) {
    Connection* c = conn(1 + rng() % kConns);
    std::string topic = "t" + std::to_string(rng() % kTopics);
    switch (rng() % 8) {
      case 0: case 1: case 2: case 3: {
        bool added = model[topic].insert(c).second;
        REQUIRE(t.subscribe(c, topic) == added);
        break;
      }
      case 4: case 5: case 6: {
        bool was = model[topic].erase(c) == 1;
        REQUIRE(t.unsubscribe(c, topic) == was);
        break;
      }
      default:
        t.remove(c);
        for (auto& [name, set] : model) set.erase(c);
        break;
    }
    if (step % 97 != 0) continue;
    size_t live = 0;
    for (const auto& [name, set] : model) {
      REQUIRE(members_of(t, name) == set);
      if (!set.empty()) ++live;
    }
    REQUIRE(t.size() == live);
    for (int k = 1; k <= kConns; ++k) {
      size_t mine = 0;
      for (const auto& [name, set] : model) mine += set.count(conn(k));
      REQUIRE(t.topics_of(conn(k)) == mine);
    }
  }
}
