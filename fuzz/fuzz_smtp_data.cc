// SMTP's DATA stream on arbitrary bytes, as read just after "354": the real
// line reader, configured as the SMTP module configures it, feeds DataBody
// through a buffer as big as the connection's. What it finds must match a
// plain reference (split at CRLF, unstuff), whatever the read sizes and the
// size limit: the end only at the first <CRLF>.<CRLF>, bare CR/LF flagged,
// the limit kept, memory bounded.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "../modules/smtp/smtp_data.h"
#include "../modules/smtp/smtp_module.h"
#include "line_reader.h"

using namespace gannet;
using namespace gannet::smtp;

namespace {

constexpr size_t kMaxInput = 1 << 16;
constexpr size_t npos = std::string_view::npos;

void check(bool ok) {
  if (!ok) abort();
}

const Protocol& smtp_protocol() { return *smtp_module.protocol; }

struct Outcome {
  bool ended = false;
  size_t end_at = 0;  // stream bytes consumed when the end was seen
  std::string message;
  bool too_big = false, bare_newline = false, long_line = false;
};

// Reads in chunks of at most the buffer's room; seed 0 fills the room each
// time, as a fast peer does, others take pseudo-random sizes.
Outcome run(std::string_view stream, size_t max_size, uint32_t seed) {
  const Protocol& p = smtp_protocol();
  LineReader reader(kDataLineEnd, p.max_line);
  const size_t cap = p.max_line + 2;  // Connection's input buffer
  DataBody body;
  body.start(max_size);
  std::string buf;
  size_t pos = 0;
  uint32_t rnd = seed;
  Outcome o;
  while (!o.ended && pos < stream.size()) {
    check(buf.size() < cap);  // else need_more with a full buffer: the connection would stall
    size_t n = std::min(cap - buf.size(), stream.size() - pos);
    if (seed) {
      rnd ^= rnd << 13, rnd ^= rnd >> 17, rnd ^= rnd << 5;
      n = std::min<size_t>(n, rnd % 3 == 0 ? 1 : rnd % (cap + 1) + 1);
    }
    buf.append(stream.substr(pos, n));
    pos += n;
    for (;;) {
      std::string_view line;
      size_t used = 0;
      auto r = reader.next(buf, line, used);
      check(used <= buf.size());
      bool end = false;
      if (r == LineReader::Result::line) {
        check(line.size() <= p.max_line);
        check(line.data() >= buf.data() && line.data() + line.size() <= buf.data() + buf.size());
        end = body.line(line);
      } else if (r == LineReader::Result::too_long) {
        body.line_too_long();
      }
      if (r != LineReader::Result::need_more) check(used > 0);  // else the connection would spin
      buf.erase(0, used);
      check(body.message().size() <= max_size);
      check(!body.too_big() || body.message().empty());
      check(body.ended() == end);
      if (end) {
        o.ended = true;
        o.end_at = pos - buf.size();
        break;
      }
      if (r == LineReader::Result::need_more) break;
    }
  }
  check(o.ended || buf.size() < cap);
  check(body.max_size() == max_size);
  o.too_big = body.too_big();
  o.bare_newline = body.bare_newline();
  o.long_line = body.long_line();
  o.message = body.take_message();
  check(body.message().empty());
  return o;
}

// The rules written plainly: lines end at CRLF and nowhere else, a lone "."
// ends, a leading dot goes, a line past the limit is left out and flagged.
Outcome reference(std::string_view s, size_t max_line) {
  Outcome o;
  size_t at = 0;
  for (;;) {
    size_t crlf = s.find("\r\n", at);
    if (crlf == npos) break;
    std::string_view line = s.substr(at, crlf - at);
    at = crlf + 2;
    if (line == ".") {
      o.ended = true;
      o.end_at = at;
      return o;
    }
    if (line.size() > max_line) {
      o.long_line = true;
      continue;
    }
    if (!line.empty() && line[0] == '.') line.remove_prefix(1);
    if (line.size() > kMaxTextLine) {
      o.long_line = true;
      continue;
    }
    for (char c : line)
      if (c == '\r' || c == '\n') o.bare_newline = true;
    o.message.append(line).append("\r\n");
  }
  // An unended last line is refused as soon as it outgrows the buffer.
  if (s.size() - at > max_line + 1) o.long_line = true;
  return o;
}

bool same(const Outcome& a, const Outcome& b) {
  return a.ended == b.ended && a.end_at == b.end_at && a.message == b.message && a.too_big == b.too_big &&
         a.bare_newline == b.bare_newline && a.long_line == b.long_line;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > kMaxInput) return -1;
  std::string_view s(reinterpret_cast<const char*>(data), size);
  const size_t max_line = smtp_protocol().max_line;
  check(kDataLineEnd == LineEnd::crlf);

  Outcome want = reference(s, max_line);
  Outcome got = run(s, kMaxInput + 1, 0);
  check(same(got, want));

  // The end: iff <CRLF>.<CRLF> occurs, the stream starting at a line start,
  // and at the first one.
  size_t dot = ("\r\n" + std::string(s)).find("\r\n.\r\n");
  check(got.ended == (dot != npos));
  if (got.ended) check(got.end_at == dot + 3);

  // A CR or LF that is not part of a CRLF, before the end, in a line that
  // was read whole, refuses the message.
  std::string_view body = s.substr(0, got.ended ? got.end_at : s.rfind("\r\n") == npos ? 0 : s.rfind("\r\n") + 2);
  bool bare = false;
  for (size_t i = 0; i < body.size(); i++) {
    if (body[i] == '\r' && (i + 1 == body.size() || body[i + 1] != '\n')) bare = true;
    if (body[i] == '\n' && (i == 0 || body[i - 1] != '\r')) bare = true;
  }
  if (bare) check(got.bare_newline || got.long_line);
  if (!got.bare_newline && !got.long_line) {
    // What is accepted has only CRLF line ends and no line past the limit.
    for (size_t i = 0; i < got.message.size(); i++) {
      if (got.message[i] == '\r') check(i + 1 < got.message.size() && got.message[i + 1] == '\n');
      if (got.message[i] == '\n') check(i > 0 && got.message[i - 1] == '\r');
    }
  }

  // Read sizes change nothing; a limit of exactly the message's size keeps it.
  Outcome exact = run(s, want.message.size(), static_cast<uint32_t>(size * 2654435761u) | 1);
  check(same(exact, want));

  // One octet less drops it, but the stream is still followed to the end.
  if (!want.message.empty()) {
    Outcome small = run(s, want.message.size() - 1, 0);
    Outcome dropped = want;
    dropped.message.clear();
    dropped.too_big = true;
    check(same(small, dropped));
  }
  return 0;
}
