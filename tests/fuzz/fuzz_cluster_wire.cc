// The cross-node codec reads whatever anyone PUBLISHes on the cluster's
// channels: it must refuse garbage without reading past the input, and what
// it accepts must encode back to the same bytes.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "cluster/wire.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  wsd::cluster::WireMessage m;
  if (wsd::cluster::decode(in, m)) {
    if (wsd::cluster::encode(m) != in) std::abort();
  }
  return 0;
}
