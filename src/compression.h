// COMPRESS=DEFLATE (RFC 4978) for a connection: raw deflate both ways,
// under TLS when there is TLS. Small on purpose: an IMAP session lives for
// days, so our side's window is 1 KiB and memLevel 1 (about 5 KiB of
// deflate state); inflating must take the client's window, up to 32 KiB.
#pragma once

#include <zlib.h>

#include <cstddef>
#include <string>
#include <string_view>

namespace gannet {

class Compression {
 public:
  Compression();
  ~Compression();
  Compression(const Compression&) = delete;
  Compression& operator=(const Compression&) = delete;
  bool ok() const { return ok_; }

  // Inflates from in into out (at most out_room octets); says how much of
  // each it used. False on a broken stream.
  bool inflate(std::string_view in, char* out, size_t out_room, size_t& used, size_t& made);
  // Deflates data and flushes (Z_SYNC_FLUSH), so the client can read all
  // of it at once; appends to out.
  void deflate(std::string_view data, std::string& out);

 private:
  z_stream in_{}, out_{};
  bool ok_ = false;
};

}  // namespace gannet
