#include "dkim_canon.h"

#include <cctype>
#include <cstring>

#include "mail/lexer.h"

namespace gannet::dkim {

namespace {

bool is_wsp(char c) { return c == ' ' || c == '\t'; }

// RFC 5322 2.2: printable US-ASCII but the colon.
bool valid_name(std::string_view n) {
  if (n.empty()) return false;
  for (unsigned char c : n)
    if (c < 33 || c > 126) return false;
  return true;
}

}  // namespace

std::optional<std::pair<Canon, Canon>> parse_canon(std::string_view text) {
  auto one = [](std::string_view s) -> std::optional<Canon> {
    if (s == "simple") return Canon::simple;
    if (s == "relaxed") return Canon::relaxed;
    return std::nullopt;
  };
  size_t slash = text.find('/');
  auto h = one(text.substr(0, slash));
  auto b = slash == std::string_view::npos ? std::optional<Canon>(Canon::simple) : one(text.substr(slash + 1));
  if (!h || !b) return std::nullopt;
  return std::make_pair(*h, *b);
}

std::string_view canon_name(Canon c) { return c == Canon::simple ? "simple" : "relaxed"; }

std::optional<size_t> header_end(std::string_view start) {
  if (start.starts_with("\r\n")) return 0;  // no header at all
  size_t at = start.find("\r\n\r\n");
  if (at == std::string_view::npos) return std::nullopt;
  return at + 2;
}

std::vector<HeaderField> split_header(std::string_view block) {
  std::vector<HeaderField> out;
  size_t pos = 0;
  while (pos < block.size()) {
    size_t end = pos;
    for (;;) {  // the field's lines: its first and every fold after it
      size_t nl = block.find("\r\n", end);
      if (nl == std::string_view::npos) {
        end = block.size();
        break;
      }
      end = nl;
      if (nl + 2 < block.size() && is_wsp(block[nl + 2])) {
        end = nl + 2;
        continue;
      }
      break;
    }
    std::string_view raw = block.substr(pos, end - pos);
    size_t colon = raw.find(':');
    if (colon != std::string_view::npos) {
      std::string_view name = raw.substr(0, colon);
      while (!name.empty() && is_wsp(name.back())) name.remove_suffix(1);
      if (valid_name(name)) out.push_back({name, raw});
    }
    pos = end + 2;
  }
  return out;
}

std::string canon_header(const HeaderField& f, Canon c) {
  if (c == Canon::simple) return std::string(f.raw) + "\r\n";
  std::string out = mail::to_lower(f.name);
  out += ':';
  std::string_view v = f.raw.substr(f.raw.find(':') + 1);
  bool wsp = false, started = false;
  for (size_t i = 0; i < v.size(); i++) {
    char ch = v[i];
    if (ch == '\r' && i + 1 < v.size() && v[i + 1] == '\n') {  // unfold
      i++;
      continue;
    }
    if (is_wsp(ch)) {
      wsp = true;
      continue;
    }
    if (wsp && started) out += ' ';
    wsp = false;
    started = true;
    out += ch;
  }
  return out + "\r\n";
}

std::vector<std::optional<HeaderField>> select_headers(const std::vector<HeaderField>& fields,
                                                       const std::vector<std::string>& names) {
  std::vector<std::optional<HeaderField>> out;
  std::vector<bool> used(fields.size());
  for (const auto& name : names) {
    std::optional<HeaderField> pick;
    for (size_t i = fields.size(); i-- > 0;)
      if (!used[i] && mail::iequals(fields[i].name, name)) {
        used[i] = true;
        pick = fields[i];
        break;
      }
    out.push_back(pick);
  }
  return out;
}

// --- the body ---

BodyHasher::BodyHasher(Canon c, std::optional<uint64_t> limit) : canon_(c), limit_(limit) {
  SHA256_Init(&sha_);
  out_.reserve(4096);
}

void BodyHasher::emit(std::string_view s) {
  length_ += s.size();
  if (limit_) {
    uint64_t room = *limit_ > hashed_ ? *limit_ - hashed_ : 0;
    s = s.substr(0, static_cast<size_t>(std::min<uint64_t>(room, s.size())));
  }
  hashed_ += s.size();
  if (s.size() >= 1024) {  // a long run goes to the hash as it is
    SHA256_Update(&sha_, out_.data(), out_.size());
    out_.clear();
    SHA256_Update(&sha_, s.data(), s.size());
    return;
  }
  out_.append(s);
  if (out_.size() >= 4096) {
    SHA256_Update(&sha_, out_.data(), out_.size());
    out_.clear();
  }
}

void BodyHasher::flush_pending() {
  for (; empty_lines_ > 0; empty_lines_--) emit("\r\n");
}

// Content octets: the empty lines held back were not the end after all,
// and whitespace before them (relaxed) becomes one space.
void BodyHasher::content(std::string_view run) {
  if (!in_line_) flush_pending();
  if (wsp_) emit(" ");
  wsp_ = false;
  in_line_ = true;
  emit(run);
}

void BodyHasher::end_line() {  // relaxed drops the whitespace before it
  wsp_ = false;
  if (in_line_) emit("\r\n");
  else empty_lines_++;
  in_line_ = false;
}

// Runs of ordinary octets go through whole; only CR (and, relaxed,
// whitespace that canonicalization changes) is looked at one by one.
void BodyHasher::update(std::string_view piece) {
  const char* p = piece.data();
  const char* end = p + piece.size();
  while (p < end) {
    if (cr_) {
      cr_ = false;
      if (*p == '\n') {
        end_line();
        p++;
        continue;
      }
      content("\r");  // a bare CR is content
    }
    const char* q = p;
    if (canon_ == Canon::simple) {
      q = static_cast<const char*>(memchr(p, '\r', end - p));
      if (!q) q = end;
    } else {  // relaxed: a lone space between content is left as it is, so runs are whole lines
      for (; q < end; q++) {
        char c = *q;
        if (c == '\r' || c == '\t') break;
        if (c == ' ' && (q == p || q + 1 == end || q[1] == ' ' || q[1] == '\t' || q[1] == '\r')) break;
      }
    }
    if (q > p) {
      content(std::string_view(p, q - p));
      p = q;
      continue;
    }
    if (*p == '\r') cr_ = true;
    else wsp_ = true;
    p++;
  }
}

std::array<uint8_t, SHA256_DIGEST_LENGTH> BodyHasher::finish() {
  if (cr_) content("\r");
  cr_ = false;
  wsp_ = false;  // trailing whitespace of a last line without CRLF
  if (in_line_) emit("\r\n");  // a body that does not end with CRLF gets one
  else if (length_ == 0 && canon_ == Canon::simple) emit("\r\n");  // simple: the empty body is one CRLF
  in_line_ = false;
  SHA256_Update(&sha_, out_.data(), out_.size());
  out_.clear();
  std::array<uint8_t, SHA256_DIGEST_LENGTH> digest;
  SHA256_Final(digest.data(), &sha_);
  return digest;
}

}  // namespace gannet::dkim
