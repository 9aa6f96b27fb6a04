#include "dkim_tags.h"

#include <algorithm>
#include <cctype>

#include "base64.h"
#include "digits.h"
#include "mail/lexer.h"

namespace gannet::dkim {

namespace {

bool is_fws(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

std::string_view trim(std::string_view s) {
  while (!s.empty() && is_fws(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_fws(s.back())) s.remove_suffix(1);
  return s;
}

std::string without_fws(std::string_view s) {
  std::string out;
  for (char c : s)
    if (!is_fws(c)) out += c;
  return out;
}

bool valid_tag_name(std::string_view n) {
  if (n.empty() || !isalpha(static_cast<unsigned char>(n[0]))) return false;
  for (unsigned char c : n)
    if (!isalnum(c) && c != '_') return false;
  return true;
}

// VALCHAR (%x21-3A / %x3C-7E) and whitespace between them.
bool valid_tag_value(std::string_view v) {
  for (unsigned char c : v)
    if (!is_fws(static_cast<char>(c)) && (c < 0x21 || c > 0x7e || c == ';')) return false;
  return true;
}

std::optional<std::string> decode64(std::string_view text) { return base64_decode(without_fws(text), 1 << 16); }

std::optional<int64_t> number(std::string_view s) {
  auto n = parse_digits(s, INT64_MAX);
  return n ? std::optional<int64_t>(static_cast<int64_t>(*n)) : std::nullopt;
}

// "a:b:c" (whitespace removed, lower-cased) as its parts.
std::vector<std::string> colon_list(std::string_view text) {
  std::string all = mail::to_lower(without_fws(text));
  std::vector<std::string> out;
  for (size_t at = 0;;) {
    size_t colon = all.find(':', at);
    out.push_back(all.substr(at, colon == std::string::npos ? std::string::npos : colon - at));
    if (colon == std::string::npos) return out;
    at = colon + 1;
  }
}

// d= and the domain of i= are DNS names: letters, digits, hyphens, dots.
bool valid_domain(std::string_view d) {
  if (d.empty() || d.size() > 253 || d.front() == '.' || d.back() == '.') return false;
  for (unsigned char c : d)
    if (!isalnum(c) && c != '-' && c != '.') return false;
  return d.find("..") == std::string_view::npos;
}

}  // namespace

std::optional<TagList> parse_tag_list(std::string_view text) {
  TagList out;
  while (!trim(text).empty()) {
    size_t semi = text.find(';');
    std::string_view spec = text.substr(0, semi);
    text = semi == std::string_view::npos ? std::string_view() : text.substr(semi + 1);
    if (trim(spec).empty()) {
      if (semi == std::string_view::npos) break;
      return std::nullopt;  // ";;": an empty tag-spec
    }
    size_t eq = spec.find('=');
    if (eq == std::string_view::npos) return std::nullopt;
    std::string_view name = trim(spec.substr(0, eq)), value = trim(spec.substr(eq + 1));
    if (!valid_tag_name(name) || !valid_tag_value(value)) return std::nullopt;
    if (find_tag(out, name)) return std::nullopt;
    out.emplace_back(std::string(name), std::string(value));
  }
  return out;
}

const std::string* find_tag(const TagList& tags, std::string_view name) {
  for (auto& [n, v] : tags)
    if (n == name) return &v;
  return nullptr;
}

std::variant<Signature, std::string> parse_signature(std::string_view value) {
  auto tags = parse_tag_list(value);
  if (!tags) return std::string("the DKIM-Signature is not a tag list");
  for (const char* required : {"v", "a", "b", "bh", "d", "h", "s"})
    if (!find_tag(*tags, required)) return "no " + std::string(required) + "= tag";
  if (*find_tag(*tags, "v") != "1") return std::string("version is not 1");
  Signature s;
  std::string a = mail::to_lower(*find_tag(*tags, "a"));
  if (a == "rsa-sha256") s.algorithm = Algorithm::rsa_sha256;
  else if (a == "ed25519-sha256") s.algorithm = Algorithm::ed25519_sha256;
  else return "unknown algorithm " + a;
  s.domain = mail::to_lower(*find_tag(*tags, "d"));
  if (!valid_domain(s.domain)) return std::string("d= is not a domain");
  s.selector = mail::to_lower(without_fws(*find_tag(*tags, "s")));
  if (s.selector.empty()) return std::string("empty s=");
  s.headers = colon_list(*find_tag(*tags, "h"));
  for (auto& n : s.headers)
    if (n.empty()) return std::string("an empty name in h=");
  bool signs_from = false;
  for (auto& n : s.headers) signs_from |= n == "from";
  if (!signs_from) return std::string("h= does not sign From");
  if (auto c = find_tag(*tags, "c")) {
    auto canon = parse_canon(mail::to_lower(*c));
    if (!canon) return "unknown canonicalization " + *c;
    s.header_canon = canon->first;
    s.body_canon = canon->second;
  }
  auto bh = decode64(*find_tag(*tags, "bh"));
  auto b = decode64(*find_tag(*tags, "b"));
  if (!bh || bh->size() != 32) return std::string("bh= is not a SHA-256 digest in base64");
  if (!b || b->empty()) return std::string("b= is not base64");
  s.body_hash = *bh;
  s.signature = *b;
  s.b_text = without_fws(*find_tag(*tags, "b"));
  if (auto q = find_tag(*tags, "q"); q && mail::to_lower(without_fws(*q)).find("dns/txt") == std::string::npos)
    return std::string("q= does not offer dns/txt");
  s.auid = "@" + s.domain;
  if (auto i = find_tag(*tags, "i")) {
    s.auid = *i;
    size_t at = i->rfind('@');
    std::string idomain = at == std::string::npos ? "" : mail::to_lower(i->substr(at + 1));
    if (idomain != s.domain && !idomain.ends_with("." + s.domain)) return std::string("i= is not within d=");
  }
  if (auto l = find_tag(*tags, "l")) {
    auto n = number(*l);
    if (!n) return std::string("l= is not a number");
    s.length = static_cast<uint64_t>(*n);
  }
  if (auto t = find_tag(*tags, "t")) {
    if (!(s.timestamp = number(*t))) return std::string("t= is not a number");
  }
  if (auto x = find_tag(*tags, "x")) {
    if (!(s.expiration = number(*x))) return std::string("x= is not a number");
    if (s.timestamp && *s.expiration < *s.timestamp) return std::string("x= is before t=");
  }
  return s;
}

std::variant<KeyRecord, std::string> parse_key_record(std::string_view txt) {
  auto tags = parse_tag_list(txt);
  if (!tags) return std::string("the key record is not a tag list");
  if (auto v = find_tag(*tags, "v"); v && (*v != "DKIM1" || tags->front().first != "v"))
    return std::string("the key record's v= is not DKIM1 first");
  KeyRecord k;
  auto p = find_tag(*tags, "p");
  if (!p) return std::string("the key record has no p=");
  auto key = decode64(*p);
  if (!key) return std::string("the key record's p= is not base64");
  k.public_key = *key;
  if (auto kt = find_tag(*tags, "k")) k.key_type = mail::to_lower(*kt);
  if (auto t = find_tag(*tags, "t")) {
    for (auto& flag : colon_list(*t)) {
      k.testing |= flag == "y";
      k.strict |= flag == "s";
    }
  }
  if (auto h = find_tag(*tags, "h")) k.hashes = colon_list(*h);
  if (auto services = find_tag(*tags, "s")) {
    auto list = colon_list(*services);
    if (std::find(list.begin(), list.end(), "*") == list.end() && std::find(list.begin(), list.end(), "email") == list.end())
      return std::string("the key is not for email (s=)");
  }
  return k;
}

}  // namespace gannet::dkim
