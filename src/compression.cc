#include "compression.h"

namespace gannet {

namespace {

constexpr int kOurWindowBits = 10;   // 1 KiB of history for what we send
constexpr int kOurMemLevel = 1;
constexpr int kTheirWindowBits = 15;  // the client may use the largest

}  // namespace

Compression::Compression() {
  ok_ = inflateInit2(&in_, -kTheirWindowBits) == Z_OK;
  if (!ok_) return;
  ok_ = deflateInit2(&out_, Z_DEFAULT_COMPRESSION, Z_DEFLATED, -kOurWindowBits, kOurMemLevel, Z_DEFAULT_STRATEGY) == Z_OK;
  if (!ok_) inflateEnd(&in_);
}

Compression::~Compression() {
  if (!ok_) return;
  inflateEnd(&in_);
  deflateEnd(&out_);
}

bool Compression::inflate(std::string_view in, char* out, size_t out_room, size_t& used, size_t& made) {
  in_.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  in_.avail_in = static_cast<uInt>(in.size());
  in_.next_out = reinterpret_cast<Bytef*>(out);
  in_.avail_out = static_cast<uInt>(out_room);
  int rc = ::inflate(&in_, Z_SYNC_FLUSH);
  used = in.size() - in_.avail_in;
  made = out_room - in_.avail_out;
  // Z_BUF_ERROR only says no progress was possible (no input, or no room).
  return rc == Z_OK || rc == Z_BUF_ERROR;
}

void Compression::deflate(std::string_view data, std::string& out) {
  out_.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  out_.avail_in = static_cast<uInt>(data.size());
  char chunk[4096];
  do {
    out_.next_out = reinterpret_cast<Bytef*>(chunk);
    out_.avail_out = sizeof chunk;
    ::deflate(&out_, Z_SYNC_FLUSH);
    out.append(chunk, sizeof chunk - out_.avail_out);
  } while (out_.avail_out == 0);
}

}  // namespace gannet
