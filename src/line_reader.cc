#include "line_reader.h"

#include <cstring>

namespace gannet {

size_t LineReader::find_end(std::string_view data, size_t& content) const {
  size_t from = 0;
  while (from < data.size()) {
    auto* nl = static_cast<const char*>(memchr(data.data() + from, '\n', data.size() - from));
    if (!nl) return std::string_view::npos;
    size_t at = nl - data.data();
    bool cr = at > 0 && data[at - 1] == '\r';
    if (cr || end_ == LineEnd::lf) {
      content = cr ? at - 1 : at;
      return at + 1;
    }
    from = at + 1;  // a bare LF inside a CRLF line
  }
  return std::string_view::npos;
}

LineReader::Result LineReader::next(std::string_view data, std::string_view& line, size_t& used) {
  used = 0;
  size_t content = 0;
  if (skipping_) {
    size_t end = find_end(data, content);
    if (end == std::string_view::npos) {
      // Keep a trailing CR: it may pair with the LF of the next read.
      used = (!data.empty() && data.back() == '\r') ? data.size() - 1 : data.size();
      return Result::need_more;
    }
    skipping_ = false;
    used = end;
    data.remove_prefix(end);
  }
  size_t end = find_end(data, content);
  if (end == std::string_view::npos) {
    if (data.size() <= max_line_ + 1) return Result::need_more;  // +1: a CR may be waiting
    used += (data.back() == '\r') ? data.size() - 1 : data.size();
    skipping_ = true;
    line = data.substr(0, max_line_);
    return Result::too_long;
  }
  used += end;
  if (content > max_line_) {
    line = data.substr(0, max_line_);
    return Result::too_long;
  }
  line = data.substr(0, content);
  return Result::line;
}

}  // namespace gannet
