// The DNS response reader behind the resolver's cache on arbitrary bytes:
// it never reads past the end (ASan watches) and never loops on pointers.
#include <cstdint>
#include <cstdlib>
#include <vector>

#include "dns/answer_ttl.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::vector<uint8_t> exact(data, data + size);  // no slack after the end for a read to hide in
  (void)gannet::dns::answer_ttl(exact.data(), exact.size());
  return 0;
}
