// LineReader driven the way Connection drives it: bytes arrive in chunks,
// the caller drops what `next` consumed and keeps the rest for later.
#include <algorithm>
#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "line_reader.h"

using namespace gannet;
using Result = LineReader::Result;

namespace {

struct Feed {
  LineReader reader;
  std::string kept;  // unconsumed bytes, as the connection's buffer holds them
  std::vector<std::string> lines;  // every line, "<too long>" for a refused one
  size_t max_kept = 0;

  Feed(LineEnd end, size_t max_line) : reader(end, max_line) {}

  // Appends a chunk and takes every result until the reader wants more.
  void push(std::string_view chunk) {
    kept.append(chunk);
    for (;;) {
      std::string_view line;
      size_t used = 0;
      Result r = reader.next(kept, line, used);
      REQUIRE(used <= kept.size());
      if (r == Result::line) lines.emplace_back(line);
      if (r == Result::too_long) lines.emplace_back("<too long>");
      if (r != Result::need_more) REQUIRE(used > 0);  // else the caller would spin
      kept.erase(0, used);
      if (r == Result::need_more) break;
    }
    max_kept = std::max(max_kept, kept.size());
  }

  void push_all(std::initializer_list<std::string_view> chunks) {
    for (auto c : chunks) push(c);
  }
};

}  // namespace

TEST_CASE("CRLF mode: only CRLF ends a line, a bare LF stays inside") {
  Feed f(LineEnd::crlf, 100);
  f.push("one\r\ntwo\nstill two\r\nthree");
  REQUIRE(f.lines == std::vector<std::string>{"one", "two\nstill two"});
  REQUIRE(f.kept == "three");
  f.push("\r\n");
  REQUIRE(f.lines.back() == "three");
  REQUIRE(f.kept.empty());
}

TEST_CASE("CRLF mode: empty lines and a lone CR inside a line") {
  Feed f(LineEnd::crlf, 100);
  f.push("\r\na\rb\r\n");
  REQUIRE(f.lines == std::vector<std::string>{"", "a\rb"});
}

TEST_CASE("LF mode: LF or CRLF ends a line, the CR is dropped") {
  Feed f(LineEnd::lf, 100);
  f.push("one\ntwo\r\n\nthree");
  REQUIRE(f.lines == std::vector<std::string>{"one", "two", ""});
  REQUIRE(f.kept == "three");
}

TEST_CASE("a line split across several reads") {
  auto mode = GENERATE(LineEnd::crlf, LineEnd::lf);
  Feed f(mode, 100);
  f.push("HEL");
  f.push("LO wor");
  REQUIRE(f.lines.empty());
  REQUIRE(f.kept == "HELLO wor");
  f.push("ld\r\nNEXT\r\n");
  REQUIRE(f.lines == std::vector<std::string>{"HELLO world", "NEXT"});
  REQUIRE(f.kept.empty());
}

TEST_CASE("CR at the end of one read, LF at the start of the next") {
  Feed f(LineEnd::crlf, 100);
  f.push("abc\r");
  REQUIRE(f.lines.empty());
  f.push("\ndef\r\n");
  REQUIRE(f.lines == std::vector<std::string>{"abc", "def"});
}

TEST_CASE("a line of exactly max_line fits, one more byte does not") {
  auto mode = GENERATE(LineEnd::crlf, LineEnd::lf);
  Feed f(mode, 8);
  f.push("12345678\r\n123456789\r\nok\r\n");
  REQUIRE(f.lines == std::vector<std::string>{"12345678", "<too long>", "ok"});
}

TEST_CASE("too_long for a line over max_line, then the next line is read") {
  Feed f(LineEnd::crlf, 8);
  SECTION("the whole line in one read") {
    f.push("0123456789abcdef\r\nPING\r\n");
  }
  SECTION("the long line arrives in pieces, its end with the next line") {
    f.push_all({"0123", "456789", "abcdef", "ghij\r", "\nPING\r\n"});
  }
  SECTION("a bare LF in the skipped part does not end it") {
    f.push_all({"0123456789", "ab\ncd", "\r\nPING\r\n"});
  }
  REQUIRE(f.lines == std::vector<std::string>{"<too long>", "PING"});
  REQUIRE_FALSE(f.reader.skipping());
  REQUIRE(f.kept.empty());
}

TEST_CASE("LF mode: a long line's skip ends at a bare LF") {
  Feed f(LineEnd::lf, 4);
  f.push_all({"abcdefgh", "ij\nok\n"});
  REQUIRE(f.lines == std::vector<std::string>{"<too long>", "ok"});
}

TEST_CASE("reset() stops skipping the rest of a long line") {
  Feed f(LineEnd::crlf, 4);
  f.push("abcdefgh");
  REQUIRE(f.reader.skipping());
  f.reader.reset();
  f.kept.clear();
  f.push("ok\r\n");
  REQUIRE(f.lines == std::vector<std::string>{"<too long>", "ok"});
}

TEST_CASE("a 1 MiB line in 16 KiB reads is refused once, with bounded memory") {
  auto mode = GENERATE(LineEnd::crlf, LineEnd::lf);
  const size_t max_line = 8192;
  Feed f(mode, max_line);
  std::string chunk(16u << 10, 'x');
  chunk.back() = '\r';  // CRs at chunk ends must not end or confuse the skip
  for (int i = 0; i < 64; i++) f.push(chunk);
  f.push("\r\nPING\r\n");
  REQUIRE(f.lines == std::vector<std::string>{"<too long>", "PING"});
  REQUIRE(f.max_kept <= max_line + 2);
}
