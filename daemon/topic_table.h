// One reactor's topics: topic -> its subscribers, and connection -> its
// topics, so that a connection's end removes it from each in O(its topics).
// Only connections that subscribed appear here: an idle connection without
// topics costs nothing. Owned and used by one reactor thread.
//
// Each membership is held twice, with indices pointing across: the topic's
// member list (dense, for the fan-out loop) and the connection's topic list.
// Removal swaps the last entry into the hole and fixes the moved entry's
// back-index, so subscribe, unsubscribe and removal are O(1) (plus a scan of
// the connection's own topics for duplicates).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace wsd::daemon {

struct Connection;

class TopicTable {
 public:
  // Adds c to topic; false when it was a member already.
  bool subscribe(Connection* c, std::string_view topic);
  // Removes c from topic; false when it was not a member.
  bool unsubscribe(Connection* c, std::string_view topic);
  // Removes c from every topic (its connection ends).
  void remove(Connection* c);
  // The subscribers of `topic`, or nullptr when it has none. Valid until the
  // table next changes.
  const std::vector<Connection*>* members(std::string_view topic) const;
  // Topics with at least one subscriber.
  size_t size() const { return topics_.size(); }
  // How many topics c is subscribed to.
  size_t topics_of(Connection* c) const;
  // Told when a topic gets its first subscriber (true) and loses its last
  // (false): the cluster keeps one Redis subscription per such topic.
  void set_watcher(std::function<void(std::string_view topic, bool first)> fn) { watcher_ = std::move(fn); }

 private:
  struct Topic {
    const std::string* name = nullptr;   // the map's key (stable: map nodes do not move)
    std::vector<Connection*> members;
    std::vector<uint32_t> back;          // back[i]: members[i]'s index in its own topic list
  };
  struct Membership {
    Topic* topic;
    uint32_t index;                      // in topic->members
  };
  struct Hash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };

  void remove_member(Topic& t, uint32_t i);
  void erase_if_empty(Topic& t);

  std::unordered_map<std::string, Topic, Hash, std::equal_to<>> topics_;
  std::unordered_map<Connection*, std::vector<Membership>> by_conn_;
  std::function<void(std::string_view, bool)> watcher_;
};

}  // namespace wsd::daemon
