// Read buffers lent by the worker to connections that have data in flight,
// so an idle connection holds none.
#pragma once

#include <cstddef>
#include <cstring>
#include <string_view>
#include <vector>

namespace gannet {

struct Buffer {
  char* data = nullptr;
  size_t cap = 0;
  size_t start = 0;  // first unconsumed byte
  size_t end = 0;    // one past the last byte read

  bool empty() const { return start == end; }
  std::string_view content() const { return {data + start, end - start}; }
  void consume(size_t n) { start += n; if (start == end) start = end = 0; }
  // Moves unconsumed bytes to the front so the tail has room.
  void compact() {
    if (start == 0) return;
    memmove(data, data + start, end - start);
    end -= start;
    start = 0;
  }
  char* space() { return data + end; }
  size_t space_left() const { return cap - end; }
};

class BufferPool {
 public:
  explicit BufferPool(size_t block) : block_(block) {}
  ~BufferPool();
  BufferPool(const BufferPool&) = delete;
  BufferPool& operator=(const BufferPool&) = delete;

  // At least `want` bytes; blocks of the pool's size are recycled.
  Buffer take(size_t want = 0);
  void give(Buffer& b);  // b becomes empty
  size_t block() const { return block_; }

 private:
  size_t block_;
  std::vector<char*> free_;
  static constexpr size_t kMaxFree = 256;  // keep at most this many spare blocks
};

}  // namespace gannet
