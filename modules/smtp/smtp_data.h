// The body of an SMTP DATA command (RFC 5321 4.1.1.4, 4.5.2), one line at a
// time as the core line reader hands them over. Pure: no session, no
// socket, so the tests and the fuzzer drive it directly.
//
// Lines reach it split at CRLF only (kDataLineEnd): a bare LF or
// CR stays inside a line, so <LF>.<LF> and its cousins can never end the
// message (SMTP smuggling, CVE-2023-51764). Such a message is still read to
// its real end, then refused whole.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "module.h"

namespace gannet::smtp {

// A text line without its CRLF and without a stuffing dot (RFC 5321 4.5.3.1.6).
inline constexpr size_t kMaxTextLine = 998;
// Commands end at LF or CRLF, as Postfix reads them; DATA only at CRLF.
inline constexpr LineEnd kCommandLineEnd = LineEnd::lf;
inline constexpr LineEnd kDataLineEnd = LineEnd::crlf;

class DataBody {
 public:
  // Begins a message that may grow to max_size octets (CRLFs included);
  // forgets the last one.
  void start(size_t max_size);

  // One line without its CRLF. True at the lone "." that ends the message;
  // the body takes nothing after that until start().
  bool line(std::string_view line);

  // The line reader refused a line past its limit and skips its rest: the
  // message is refused at its end.
  void line_too_long() { long_line_ = true; }

  // The message's octets not taken yet: unstuffed lines, each with its
  // CRLF. The session moves them on as they come (to a spool file past a
  // size) and says taken(); the limit counts them all. Empty once
  // too_big(), since nothing of it will be kept.
  const std::string& message() const { return message_; }
  void taken() { message_.clear(); }
  std::string take_message();  // and frees the body's copy
  size_t size() const { return size_; }  // of the whole message so far

  bool ended() const { return ended_; }
  bool too_big() const { return too_big_; }
  bool bare_newline() const { return bare_newline_; }  // a CR or LF not part of a CRLF
  bool long_line() const { return long_line_; }
  size_t max_size() const { return max_size_; }

 private:
  std::string message_;
  size_t size_ = 0;
  size_t max_size_ = 0;
  bool ended_ = false, too_big_ = false, bare_newline_ = false, long_line_ = false;
};

}  // namespace gannet::smtp
