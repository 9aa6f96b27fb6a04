// DKIM's canonicalizer on arbitrary messages: the header block splits into
// fields whose canonical forms are single CRLF-ended lines (relaxed: no tab,
// no run of spaces), and the body's digest does not depend on how the body
// is cut into pieces, and is that of a plain line-by-line reading of RFC
// 6376 3.4.3 and 3.4.4 (the hasher takes shortcuts; this does not).
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "../modules/dkim/dkim_canon.h"

using namespace gannet::dkim;

namespace {
void check(bool ok) {
  if (!ok) abort();
}

std::string reference(std::string_view body, Canon c) {
  std::vector<std::string> lines;
  while (!body.empty()) {
    size_t end = body.find("\r\n");
    std::string line(body.substr(0, end));
    body = end == std::string_view::npos ? std::string_view() : body.substr(end + 2);
    if (c == Canon::relaxed) {
      std::string r;
      for (char ch : line) {
        bool wsp = ch == ' ' || ch == '\t';
        if (wsp && !r.empty() && r.back() == ' ') continue;
        r += wsp ? ' ' : ch;
      }
      while (!r.empty() && r.back() == ' ') r.pop_back();
      line = r;
    }
    lines.push_back(line);
  }
  while (!lines.empty() && lines.back().empty()) lines.pop_back();
  std::string out;
  for (auto& l : lines) out += l + "\r\n";
  if (out.empty() && c == Canon::simple) out = "\r\n";
  return out;
}

std::array<uint8_t, SHA256_DIGEST_LENGTH> sha256(const std::string& s) {
  std::array<uint8_t, SHA256_DIGEST_LENGTH> d;
  SHA256(reinterpret_cast<const uint8_t*>(s.data()), s.size(), d.data());
  return d;
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
    auto digest = whole.finish();
    check(digest == split.finish() && whole.length() == split.length());
    std::string ref = reference(body, c);
    check(digest == sha256(ref) && whole.length() == ref.size());
  }
  return 0;
}
