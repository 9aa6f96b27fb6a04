#include "buffer.h"

#include <cstdlib>

namespace gannet {

BufferPool::~BufferPool() {
  for (char* p : free_) free(p);
}

Buffer BufferPool::take(size_t want) {
  Buffer b;
  b.cap = want > block_ ? want : block_;
  if (b.cap == block_ && !free_.empty()) {
    b.data = free_.back();
    free_.pop_back();
  } else {
    b.data = static_cast<char*>(malloc(b.cap));
  }
  return b;
}

void BufferPool::give(Buffer& b) {
  if (!b.data) return;
  if (b.cap == block_ && free_.size() < kMaxFree) free_.push_back(b.data);
  else free(b.data);
  b = Buffer{};
}

}  // namespace gannet
