#include "daemon/topic_table.h"

namespace wsd::daemon {

bool TopicTable::subscribe(Connection* c, std::string_view topic) {
  auto it = topics_.find(topic);
  if (it == topics_.end()) {
    it = topics_.emplace(std::string(topic), Topic{}).first;
    it->second.name = &it->first;
    if (watcher_) watcher_(topic, true);
  }
  Topic& t = it->second;
  std::vector<Membership>& mine = by_conn_[c];
  for (const Membership& m : mine) {
    if (m.topic == &t) return false;
  }
  t.members.push_back(c);
  t.back.push_back(static_cast<uint32_t>(mine.size()));
  mine.push_back({&t, static_cast<uint32_t>(t.members.size() - 1)});
  return true;
}

bool TopicTable::unsubscribe(Connection* c, std::string_view topic) {
  auto it = topics_.find(topic);
  auto mine_it = by_conn_.find(c);
  if (it == topics_.end() || mine_it == by_conn_.end()) return false;
  Topic& t = it->second;
  std::vector<Membership>& mine = mine_it->second;
  for (size_t k = 0; k < mine.size(); ++k) {
    if (mine[k].topic != &t) continue;
    remove_member(t, mine[k].index);
    // Swap-remove from c's own list; the moved membership's topic entry
    // learns its new position.
    if (k + 1 != mine.size()) {
      mine[k] = mine.back();
      mine[k].topic->back[mine[k].index] = static_cast<uint32_t>(k);
    }
    mine.pop_back();
    if (mine.empty()) by_conn_.erase(mine_it);
    erase_if_empty(t);
    return true;
  }
  return false;
}

void TopicTable::remove(Connection* c) {
  if (by_conn_.empty()) return;
  auto it = by_conn_.find(c);
  if (it == by_conn_.end()) return;
  std::vector<Membership> mine = std::move(it->second);
  by_conn_.erase(it);
  for (const Membership& m : mine) {
    remove_member(*m.topic, m.index);
    erase_if_empty(*m.topic);
  }
}

const std::vector<Connection*>* TopicTable::members(std::string_view topic) const {
  auto it = topics_.find(topic);
  return it == topics_.end() ? nullptr : &it->second.members;
}

size_t TopicTable::topics_of(Connection* c) const {
  auto it = by_conn_.find(c);
  return it == by_conn_.end() ? 0 : it->second.size();
}

// Swap-removes members[i]; the member moved into the hole has its own
// topic list entry pointed at the new index. The moved member is another
// connection than the removed one (a connection is in a topic once).
void TopicTable::remove_member(Topic& t, uint32_t i) {
  const size_t last = t.members.size() - 1;
  if (i != last) {
    t.members[i] = t.members[last];
    t.back[i] = t.back[last];
    by_conn_.find(t.members[i])->second[t.back[i]].index = i;
  }
  t.members.pop_back();
  t.back.pop_back();
}

void TopicTable::erase_if_empty(Topic& t) {
  if (!t.members.empty()) return;
  if (watcher_) watcher_(*t.name, false);
  topics_.erase(topics_.find(*t.name));
}

}  // namespace wsd::daemon
