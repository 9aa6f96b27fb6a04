// DKIM's canonicalizer on arbitrary messages: the header block splits into
// fields whose canonical forms are single CRLF-ended lines (relaxed: no tab,
// no run of spaces), and the body's digest does not depend on how the body
// is cut into pieces.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "../modules/dkim/dkim_canon.h"

using namespace gannet::dkim;

namespace {
void check(bool ok) {
  if (!ok) abort();
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  auto end = header_end(in);
  std::string_view head = end ? in.substr(0, *end) : in;
  for (const auto& f : split_header(head)) {
    check(!f.name.empty() && f.raw.starts_with(f.name));
    std::string r = canon_header(f, Canon::relaxed);
    check(r.ends_with("\r\n") && r.find('\t') == std::string::npos && r.find("  ") == std::string::npos);
    check(canon_header(f, Canon::simple) == std::string(f.raw) + "\r\n");
  }
  std::string_view body = end ? in.substr(*end + 2) : std::string_view();
  size_t cut = size ? data[0] % (body.size() + 1) : 0;
  for (Canon c : {Canon::simple, Canon::relaxed}) {
    BodyHasher whole(c), split(c);
    whole.update(body);
    split.update(body.substr(0, cut));
    split.update(body.substr(cut));
    check(whole.finish() == split.finish() && whole.length() == split.length());
  }
  return 0;
}
