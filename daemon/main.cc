#include <cstdio>

int main() {
  std::puts("wsd: the daemon is not built yet (see issue 3); the protocol core is in core/.");
  return 0;
}
