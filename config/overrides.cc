// --set key=value: applied to the YAML tree before validation, so an
// override is checked exactly like the file (and errors name the override).
#include <charconv>

#include "config/schema.h"

namespace wsd::config {

namespace {

std::vector<std::string> split_path(const std::string& key) {
  std::vector<std::string> segs(1);
  for (char c : key) {
    if (c == '.') {
      segs.emplace_back();
    } else {
      segs.back() += c;
    }
  }
  return segs;
}

bool to_index(const std::string& s, size_t& out) {
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && end == s.data() + s.size() && !s.empty();
}

// "listeners.1.port" as errors name it: "listeners[1].port".
std::string display_key(const std::vector<std::string>& segs, size_t count) {
  std::string out;
  for (size_t i = 0; i < count; ++i) {
    size_t index = 0;
    out = to_index(segs[i], index) && i > 0 ? item_key(out, index) : join_key(out, segs[i]);
  }
  return out;
}

// Steps from `node` to its child `seg` for writing; an absent or empty child
// of a map becomes a map. Reports and returns false where the path leads
// nowhere. `where` names `node` in messages.
bool step(Context& ctx, const std::string& label, const std::string& where, YAML::Node& node,
          const std::string& seg) {
  if (node.IsSequence()) {
    size_t i = 0;
    if (!to_index(seg, i) || i >= node.size()) {
      ctx.error_at(label, "", where + " is a list of " + std::to_string(node.size()) + "; no item '" + seg + "'");
      return false;
    }
    node.reset(node[i]);
    return true;
  }
  if (!node.IsMap()) {
    ctx.error_at(label, "", where + " is not a map (it is " + describe(node) + ")");
    return false;
  }
  YAML::Node child = node[seg];
  if (!child.IsDefined() || child.IsNull()) child = YAML::Node(YAML::NodeType::Map);
  node.reset(child);
  return true;
}

// Sets child `seg` of `parent` (a map or a list) to `value`.
bool assign(Context& ctx, const std::string& label, const std::string& where, YAML::Node& parent,
            const std::string& seg, const YAML::Node& value) {
  if (parent.IsMap()) {
    parent[seg] = value;
    return true;
  }
  size_t i = 0;
  if (parent.IsSequence() && to_index(seg, i) && i < parent.size()) {
    parent[i] = value;
    return true;
  }
  // Let step() word the complaint.
  step(ctx, label, where, parent, seg);
  return false;
}

void apply_one(Context& ctx, YAML::Node& root, const std::string& text) {
  size_t eq = text.find('=');
  if (eq == std::string::npos) {
    ctx.error_at("--set " + text, "", "expected key=value");
    return;
  }
  std::string key = text.substr(0, eq);
  std::string label = "--set " + key;
  std::vector<std::string> segs = split_path(key);
  for (const std::string& s : segs) {
    if (s.empty()) {
      ctx.error_at("--set " + text, "", "malformed key (expected names separated by '.', like worker_num or a.b)");
      return;
    }
  }
  YAML::Node value;
  try {
    value.reset(YAML::Load(text.substr(eq + 1)));
  } catch (const YAML::Exception& e) {
    ctx.error_at(label, "", "cannot parse the value: " + e.msg);
    return;
  }
  YAML::Node node(root);
  for (size_t i = 0; i + 1 < segs.size(); ++i) {
    if (!step(ctx, label, display_key(segs, i), node, segs[i])) return;
  }
  if (!assign(ctx, label, display_key(segs, segs.size() - 1), node, segs.back(), value)) return;
  ctx.add_override(value, key, display_key(segs, segs.size()));
}

}  // namespace

void apply_overrides(Context& ctx, YAML::Node& root, const std::vector<std::string>& overrides) {
  for (const std::string& o : overrides) apply_one(ctx, root, o);
}

}  // namespace wsd::config
