// Tests of config/cluster.cc: the `cluster:` section.
#include <doctest/doctest.h>

#include <string>

#include "config/loader.h"
#include "helpers.h"

using wsd::config::LoadResult;
using wsd::config::testing::load;
using wsd::config::testing::only_error;

TEST_CASE("without a cluster section there is no cluster") {
  LoadResult r = load("port: 9501\n");
  REQUIRE(r.ok);
  CHECK_FALSE(r.config.cluster.enabled);
}

TEST_CASE("cluster: redis address forms, credentials, ids") {
  LoadResult r = load(R"(cluster:
  redis: 10.0.0.5:6380
  password: s3cret
  database: 2
  channel_prefix: chat
  node_id: eu-1
  node_number: 17
  heartbeat_interval: 500ms
  heartbeat_ttl: 2s
)");
  for (const std::string& e : r.errors) MESSAGE(e);
  REQUIRE(r.ok);
  const auto& c = r.config.cluster;
  CHECK(c.enabled);
  CHECK(c.redis_host == "10.0.0.5");
  CHECK(c.redis_port == 6380);
  CHECK(c.password == "s3cret");
  CHECK(c.database == 2);
  CHECK(c.channel_prefix == "chat");
  CHECK(c.node_id == "eu-1");
  CHECK(c.node_number == 17);
  CHECK(c.heartbeat_interval == doctest::Approx(0.5));
  CHECK(c.heartbeat_ttl == doctest::Approx(2));

  r = load("cluster:\n  redis: unix:/run/redis/redis.sock\n");
  REQUIRE(r.ok);
  CHECK(r.config.cluster.redis_unix == "/run/redis/redis.sock");
  r = load("cluster:\n  redis: \"[::1]:7000\"\n");
  REQUIRE(r.ok);
  CHECK(r.config.cluster.redis_host == "::1");
  CHECK(r.config.cluster.redis_port == 7000);
  r = load("cluster:\n  redis: redis.internal\n");
  REQUIRE(r.ok);
  CHECK(r.config.cluster.redis_port == 6379);
}

TEST_CASE("cluster: the node id and number are derived when not given") {
  LoadResult a = load("port: 9501\ncluster: {}\n");
  REQUIRE(a.ok);
  CHECK_FALSE(a.config.cluster.node_id.empty());
  CHECK(a.config.cluster.node_id.find("-9501") != std::string::npos);
  CHECK(a.config.cluster.node_number >= 1);
  CHECK(a.config.cluster.node_number <= 4095);
  LoadResult b = load("port: 9501\ncluster: {node_id: other}\n");
  REQUIRE(b.ok);
  CHECK(b.config.cluster.node_id == "other");
}

TEST_CASE("cluster: bad values are refused with the key and the reason") {
  CHECK(only_error(load("cluster:\n  redis: host:99999\n")).find("cluster.redis") != std::string::npos);
  CHECK(only_error(load("cluster:\n  redis: unix:relative\n")).find("unix:/absolute/path") != std::string::npos);
  CHECK(only_error(load("cluster:\n  node_number: 5000\n")).find("cluster.node_number") != std::string::npos);
  CHECK(only_error(load("cluster:\n  node_id: \"a b\"\n")).find("cluster.node_id") != std::string::npos);
  CHECK(only_error(load("cluster:\n  channel_prefix: \"wsd*\"\n")).find("cluster.channel_prefix") !=
        std::string::npos);
  CHECK(only_error(load("cluster:\n  heartbeat_interval: 5s\n  heartbeat_ttl: 2s\n")).find("heartbeat_ttl") !=
        std::string::npos);
  std::string e = only_error(load("cluster:\n  passwd: x\n"));
  CHECK(e.find("unknown option 'passwd'") != std::string::npos);
  CHECK(e.find("did you mean 'password'") != std::string::npos);
}
