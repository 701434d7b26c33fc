// Tests of config/suggest.cc.
#include "config/suggest.h"

#include <doctest/doctest.h>

using wsd::config::edit_distance;
using wsd::config::suggest;

TEST_CASE("edit_distance") {
  struct Case {
    const char* a;
    const char* b;
    size_t distance;
  };
  const Case cases[] = {
      {"", "", 0},
      {"abc", "", 3},
      {"worker_num", "worker_num", 0},
      {"worker_nun", "worker_num", 1},  // substitution
      {"listners", "listeners", 1},     // insertion
      {"worker_numm", "worker_num", 1}, // deletion
      {"wokrer_num", "worker_num", 1},  // swap of neighbours
      {"Worker_Num", "worker_num", 0},  // case ignored
      {"kitten", "sitting", 3},
  };
  for (const Case& c : cases) {
    INFO(c.a);
    INFO(c.b);
    CHECK(edit_distance(c.a, c.b) == c.distance);
    CHECK(edit_distance(c.b, c.a) == c.distance);
  }
}

TEST_CASE("suggest picks a close name only") {
  const std::vector<std::string_view> names = {"worker_num", "reactor_num", "listeners", "port", "host",
                                               "heartbeat_check_interval", "heartbeat_idle_time"};
  CHECK(suggest("worker_nun", names) == "worker_num");
  CHECK(suggest("listners", names) == "listeners");
  CHECK(suggest("prot", names) == "port");
  CHECK(suggest("heartbeat_check_intervall", names) == "heartbeat_check_interval");
  CHECK(suggest("heartbeat_chek_intrval", names) == "heartbeat_check_interval");
  CHECK(suggest("completely_unrelated", names) == "");
  CHECK(suggest("xy", names) == "");
  CHECK(suggest("", names) == "");
}
