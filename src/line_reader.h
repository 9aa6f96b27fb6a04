// Splits a byte stream into lines under a hard length limit. Pure: no
// sockets, so tests and fuzzers drive it directly.
#pragma once

#include <cstddef>
#include <string_view>

#include "module.h"

namespace gannet {

class LineReader {
 public:
  LineReader(LineEnd end, size_t max_line) : end_(end), max_line_(max_line) {}

  enum class Result {
    line,       // `line` holds one line without its terminator
    need_more,  // no complete line; keep the unconsumed bytes and read more
    too_long,   // a line passed max_line; `line` holds its first max_line octets, the rest will be skipped
  };

  // Looks at data and sets `used` to how many bytes were consumed.
  Result next(std::string_view data, std::string_view& line, size_t& used);
  bool skipping() const { return skipping_; }
  // A protocol may change how its lines end between lines (SMTP: commands
  // end at LF, DATA only at CRLF).
  void set_end(LineEnd end) { end_ = end; }
  void reset() { skipping_ = false; }

 private:
  // Offset just past the end of the first complete line, or npos; sets the
  // content length.
  size_t find_end(std::string_view data, size_t& content) const;
  LineEnd end_;
  size_t max_line_;
  bool skipping_ = false;
};

}  // namespace gannet
