// "Did you mean" for misspelt option names.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace wsd::config {

// Edit distance counting insertions, deletions, substitutions and swaps of
// two neighbours (optimal string alignment), ignoring ASCII case.
size_t edit_distance(std::string_view a, std::string_view b);

// The candidate closest to `name`, or "" when none is close: the distance
// must be at most 2, or at most a third of the name's length, and smaller
// than the name itself (so "ab" never "means" "port"). Ties go to the first.
std::string suggest(std::string_view name, const std::vector<std::string_view>& candidates);

}  // namespace wsd::config
