// SMTP DATA bodies: the lone "." that ends them, dot-unstuffing, the size
// limit, and every way of smuggling an end with bare CR or LF. Streams go
// through the real line reader, configured as the SMTP module configures
// it, the way the connection feeds the session.
#include <catch2/catch.hpp>

#include <string>

#include "../../modules/smtp/smtp_data.h"
#include "../../modules/smtp/smtp_module.h"
#include "line_reader.h"

using namespace gannet;
using namespace gannet::smtp;
using namespace std::string_literals;

namespace {

struct Read {
  bool ended = false;
  std::string rest;  // what follows the end: the next commands
  std::string message;
  bool too_big = false, bare_newline = false, long_line = false;
};

// Feeds `stream`, `step` bytes at a time, into a body limited to max_size.
Read read_data(std::string_view stream, size_t max_size = 1 << 20, size_t step = 4096) {
  const Protocol& p = *smtp_module.protocol;
  LineReader reader(kDataLineEnd, p.max_line);
  DataBody body;
  body.start(max_size);
  std::string kept;
  size_t pos = 0;
  Read out;
  while (!out.ended && pos < stream.size()) {
    size_t n = std::min({step, stream.size() - pos, p.max_line + 2 - kept.size()});
    REQUIRE(n > 0);
    kept.append(stream.substr(pos, n));
    pos += n;
    for (;;) {
      std::string_view line;
      size_t used = 0;
      auto r = reader.next(kept, line, used);
      bool end = false;
      if (r == LineReader::Result::line) end = body.line(line);
      else if (r == LineReader::Result::too_long) body.line_too_long();
      kept.erase(0, used);
      if (end) {
        out.ended = true;
        out.rest = kept + std::string(stream.substr(pos));
        break;
      }
      if (r == LineReader::Result::need_more) break;
    }
  }
  out.too_big = body.too_big();
  out.bare_newline = body.bare_newline();
  out.long_line = body.long_line();
  out.message = body.take_message();
  return out;
}

}  // namespace

TEST_CASE("DATA: SMTP reads lines with CRLF ends only, at most 998 octets and a stuffing dot", "[smtp][data]") {
  REQUIRE(kDataLineEnd == LineEnd::crlf);
  REQUIRE(smtp_module.protocol->line_end == LineEnd::lf);  // commands, as Postfix
  REQUIRE(smtp_module.protocol->max_line == 999);
}

TEST_CASE("DATA: a lone dot ends the message, lines keep their CRLF", "[smtp][data]") {
  for (size_t step : {4096, 1, 2, 3, 7}) {
    CAPTURE(step);
    auto r = read_data("Subject: hi\r\n\r\nline one\r\nline two\r\n.\r\nQUIT\r\n", 1 << 20, step);
    REQUIRE(r.ended);
    REQUIRE(r.message == "Subject: hi\r\n\r\nline one\r\nline two\r\n");
    REQUIRE(r.rest == "QUIT\r\n");
    REQUIRE_FALSE(r.too_big);
    REQUIRE_FALSE(r.bare_newline);
    REQUIRE_FALSE(r.long_line);
  }
}

TEST_CASE("DATA: an empty message, and the stream as starting at a line start", "[smtp][data]") {
  auto r = read_data(".\r\n");
  REQUIRE(r.ended);
  REQUIRE(r.message.empty());
  r = read_data("\r\n.\r\n");
  REQUIRE(r.ended);
  REQUIRE(r.message == "\r\n");
}

TEST_CASE("DATA: only the first end counts; no end, no message yet", "[smtp][data]") {
  auto r = read_data("a\r\n.\r\nb\r\n.\r\n");
  REQUIRE(r.ended);
  REQUIRE(r.message == "a\r\n");
  REQUIRE(r.rest == "b\r\n.\r\n");
  for (auto s : {"a\r\n."s, "a\r\n.\r"s, "a\r\n. \r\n"s, "a\r\n .\r\n"s, "a\r\n..\r\n"s, "a\r\n.\t\r\n"s, "a\r\n.\0\r\n"s}) {
    CAPTURE(s);
    REQUIRE_FALSE(read_data(s).ended);
  }
}

TEST_CASE("DATA: a leading dot is removed (dot-unstuffing)", "[smtp][data]") {
  struct Row {
    std::string wire, message;
  } rows[] = {
      {"..\r\n", ".\r\n"},
      {"...\r\n", "..\r\n"},
      {"..leading\r\n", ".leading\r\n"},
      {".unstuffed by the client\r\n", "unstuffed by the client\r\n"},  // RFC 5321 4.5.2: the dot goes anyway
      {". \r\n", " \r\n"},
      {"a.\r\n", "a.\r\n"},
      {" .\r\n", " .\r\n"},
      {"a\r\n..\r\nb\r\n", "a\r\n.\r\nb\r\n"},
  };
  for (auto& row : rows) {
    CAPTURE(row.wire);
    auto r = read_data(row.wire + ".\r\n");
    REQUIRE(r.ended);
    REQUIRE(r.message == row.message);
    REQUIRE_FALSE(r.bare_newline);
  }
}

TEST_CASE("DATA: smuggled ends never end the message, which is refused whole", "[smtp][data]") {
  const std::string smuggled = "MAIL FROM:<evil@remote.test>\r\nRCPT TO:<bob@example.test>\r\nDATA\r\nSubject: smuggled\r\n";
  for (std::string ending : {"\n.\n"s, "\r.\r"s, "\n.\r\n"s, "\r\n.\n"s, "\r.\n"s, "\n.\r"s, "\r\n.\r"s, "\r.\r\n"s}) {
    CAPTURE(ending);
    for (size_t step : {4096, 1, 2}) {
      CAPTURE(step);
      auto r = read_data("Subject: carrier\r\n\r\nhello" + ending + smuggled + "\r\n.\r\nNOOP\r\n", 1 << 20, step);
      REQUIRE(r.ended);
      REQUIRE(r.rest == "NOOP\r\n");  // the only end is the real one
      REQUIRE(r.bare_newline);
      // The smuggled commands stayed inside the message.
      REQUIRE(r.message.find("MAIL FROM:<evil@remote.test>\r\n") != std::string::npos);
      REQUIRE(r.message.ends_with("Subject: smuggled\r\n\r\n"));
    }
  }
}

TEST_CASE("DATA: a bare CR or LF anywhere in a line is flagged", "[smtp][data]") {
  for (auto s : {"a\nb\r\n"s, "a\rb\r\n"s, "\n\r\n"s, "\r\r\n"s, "text\r\r\n"s, ".\n\r\n"s, "..\r\r\n"s}) {
    CAPTURE(s);
    auto r = read_data(s + ".\r\n");
    REQUIRE(r.ended);
    REQUIRE(r.bare_newline);
  }
  auto r = read_data("text\r\r\n.\r\n");
  REQUIRE(r.message == "text\r\r\n");  // kept as read; the session refuses it
}

TEST_CASE("DATA: the size limit drops the message but the stream is followed to its end", "[smtp][data]") {
  const std::string body = "12345678\r\n.abcdefgh\r\n";  // 10 + 10 octets once unstuffed
  auto r = read_data(body + ".\r\nQUIT\r\n", 20);
  REQUIRE(r.ended);
  REQUIRE_FALSE(r.too_big);
  REQUIRE(r.message == "12345678\r\nabcdefgh\r\n");

  r = read_data(body + "x\n\r\n.\r\nQUIT\r\n", 19);
  REQUIRE(r.ended);
  REQUIRE(r.rest == "QUIT\r\n");
  REQUIRE(r.too_big);
  REQUIRE(r.message.empty());
  REQUIRE(r.bare_newline);  // still looked for after the limit

  r = read_data("\r\n.\r\n", 0);
  REQUIRE(r.too_big);
  r = read_data(".\r\n", 0);
  REQUIRE_FALSE(r.too_big);
}

TEST_CASE("DATA: a line past 998 octets is left out, flagged, and the end still found", "[smtp][data]") {
  for (size_t step : {4096, 1, 999, 1000, 1001}) {
    CAPTURE(step);
    auto r = read_data("a\r\n" + std::string(999, 'x') + "\r\nb\r\n.\r\nQUIT\r\n", 1 << 20, step);
    REQUIRE(r.ended);
    REQUIRE(r.long_line);
    REQUIRE(r.message == "a\r\nb\r\n");
    REQUIRE(r.rest == "QUIT\r\n");
  }
  // A stuffing dot does not count (RFC 5321 4.5.3.1.6): 998 octets of text
  // may come as 999 on the wire, but no more.
  auto r = read_data(std::string(998, 'y') + "\r\n." + std::string(998, 'z') + "\r\n.\r\n");
  REQUIRE(r.ended);
  REQUIRE_FALSE(r.long_line);
  REQUIRE(r.message == std::string(998, 'y') + "\r\n" + std::string(998, 'z') + "\r\n");
  REQUIRE(read_data(std::string(999, 'z') + "\r\n.\r\n").long_line);
  REQUIRE(read_data("." + std::string(999, 'z') + "\r\n.\r\n").long_line);
  // A long line cannot hide a ".": the end right after it is found.
  r = read_data(std::string(5000, 'w') + "\r\n.\r\nQUIT\r\n");
  REQUIRE(r.ended);
  REQUIRE(r.long_line);
  REQUIRE(r.rest == "QUIT\r\n");
}

TEST_CASE("DATA: start() begins afresh", "[smtp][data]") {
  DataBody body;
  body.start(10);
  REQUIRE_FALSE(body.line("a\nb"));
  body.line_too_long();
  REQUIRE_FALSE(body.line("0123456789"));
  REQUIRE(body.too_big());
  REQUIRE(body.line("."));
  REQUIRE(body.ended());
  REQUIRE(body.line("after"));  // nothing more is taken
  REQUIRE(body.message().empty());
  body.start(100);
  REQUIRE_FALSE(body.ended());
  REQUIRE_FALSE(body.too_big());
  REQUIRE_FALSE(body.bare_newline());
  REQUIRE_FALSE(body.long_line());
  REQUIRE(body.max_size() == 100);
  REQUIRE_FALSE(body.line("x"));
  REQUIRE(body.line("."));
  REQUIRE(body.take_message() == "x\r\n");
  REQUIRE(body.message().empty());
}

TEST_CASE("DATA: the limit counts every octet, the ones taken on included", "[smtp][data]") {
  DataBody body;
  body.start(10);
  REQUIRE_FALSE(body.line("12345678"));  // 10 octets with CRLF: at the limit, kept
  REQUIRE(body.line("."));
  REQUIRE_FALSE(body.too_big());
  REQUIRE(body.take_message() == "12345678\r\n");

  body.start(9);
  REQUIRE_FALSE(body.line("12345678"));
  REQUIRE(body.line("."));
  REQUIRE(body.too_big());
  REQUIRE(body.message().empty());  // nothing of it is kept

  body.start(10);
  REQUIRE_FALSE(body.line("1234"));
  REQUIRE(body.message() == "1234\r\n");
  body.taken();  // moved on, as the session spools a big message
  REQUIRE(body.message().empty());
  REQUIRE(body.size() == 6);
  REQUIRE_FALSE(body.line("1234"));
  REQUIRE(body.line("."));
  REQUIRE(body.too_big());
}
