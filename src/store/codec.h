// Binary encoding of store keys and records. Keys are big-endian so LMDB's
// byte order is numeric order (range scans by mailbox, then UID).
#pragma once

#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>

namespace gannet::store {

inline void put_be32(std::string& out, uint32_t v) {
  char b[4] = {char(v >> 24), char(v >> 16), char(v >> 8), char(v)};
  out.append(b, 4);
}
inline void put_be64(std::string& out, uint64_t v) {
  put_be32(out, uint32_t(v >> 32));
  put_be32(out, uint32_t(v));
}
inline uint32_t get_be32(const char* p) {
  auto* u = reinterpret_cast<const unsigned char*>(p);
  return uint32_t(u[0]) << 24 | uint32_t(u[1]) << 16 | uint32_t(u[2]) << 8 | u[3];
}
inline uint64_t get_be64(const char* p) { return uint64_t(get_be32(p)) << 32 | get_be32(p + 4); }

// Records: a sequence of varints and length-prefixed strings. A reader that
// runs past the end fails instead of reading garbage (stores are untrusted
// input after a disk error, and the fuzzer feeds them).
class Encoder {
 public:
  Encoder& u64(uint64_t v) {
    while (v >= 0x80) { out_.push_back(char(v | 0x80)); v >>= 7; }
    out_.push_back(char(v));
    return *this;
  }
  Encoder& str(std::string_view s) {
    u64(s.size());
    out_.append(s);
    return *this;
  }
  std::string take() { return std::move(out_); }

 private:
  std::string out_;
};

class Decoder {
 public:
  explicit Decoder(std::string_view in) : in_(in) {}
  bool u64(uint64_t& v) {
    v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (in_.empty()) return ok_ = false;
      auto b = static_cast<unsigned char>(in_[0]);
      in_.remove_prefix(1);
      v |= uint64_t(b & 0x7f) << shift;
      if (!(b & 0x80)) return true;
    }
    return ok_ = false;
  }
  template <class T>
  bool num(T& v) {
    uint64_t x;
    if (!u64(x)) return false;
    v = static_cast<T>(x);
    return true;
  }
  bool str(std::string& s) {
    uint64_t n;
    if (!u64(n) || n > in_.size()) return ok_ = false;
    s.assign(in_.substr(0, n));
    in_.remove_prefix(n);
    return true;
  }
  bool ok() const { return ok_; }
  bool done() const { return ok_ && in_.empty(); }

 private:
  std::string_view in_;
  bool ok_ = true;
};

}  // namespace gannet::store
