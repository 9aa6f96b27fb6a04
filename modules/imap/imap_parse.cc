#include "imap_parse.h"

#include <algorithm>
#include <charconv>

namespace gannet::imap {

namespace {

bool iequal(std::string_view a, std::string_view upper) {
  if (a.size() != upper.size()) return false;
  for (size_t i = 0; i < a.size(); i++)
    if (toupper(static_cast<unsigned char>(a[i])) != upper[i]) return false;
  return true;
}

bool is_ctl(unsigned char c) { return c < 0x20 || c == 0x7f; }

// The argument reader: one state per grammar rule, over the whole command.
class Reader {
 public:
  explicit Reader(std::string_view in) : in_(in) {}

  std::optional<std::string> args(std::vector<Arg>& out, size_t depth) {
    for (;;) {
      if (at_end()) return depth == 0 ? std::nullopt : std::optional<std::string>("unclosed list");
      if (peek() == ')') {
        if (depth == 0) return "unexpected )";
        return std::nullopt;
      }
      if (++count_ > kMaxArgs) return "too many arguments";
      Arg a;
      if (auto err = value(a, depth)) return err;
      out.push_back(std::move(a));
      if (at_end() || peek() == ')') continue;
      if (peek() != ' ') return "expected a space";
      pos_++;
      if (at_end() || peek() == ' ' || peek() == ')') return "stray space";
    }
  }

 private:
  bool at_end() const { return pos_ >= in_.size(); }
  char peek() const { return in_[pos_]; }

  std::optional<std::string> value(Arg& a, size_t depth) {
    char c = peek();
    if (c == '(') return list(a, depth);
    if (c == '"') return quoted(a);
    if (c == '{') return literal(a);
    if (c == '~' && pos_ + 1 < in_.size() && in_[pos_ + 1] == '{') {  // literal8 (RFC 3516)
      pos_++;
      return literal(a);
    }
    return atom(a);
  }

  std::optional<std::string> list(Arg& a, size_t depth) {
    if (depth + 1 > kMaxDepth) return "lists nested too deep";
    a.kind = Arg::Kind::list;
    pos_++;  // (
    if (auto err = args(a.items, depth + 1)) return err;
    pos_++;  // )
    return std::nullopt;
  }

  std::optional<std::string> quoted(Arg& a) {
    a.kind = Arg::Kind::string;
    for (pos_++; !at_end(); pos_++) {
      char c = peek();
      if (c == '"') {
        pos_++;
        return std::nullopt;
      }
      if (c == '\r' || c == '\n' || c == '\0') return "bad character in a quoted string";
      if (c == '\\') {
        if (++pos_ >= in_.size() || (peek() != '\\' && peek() != '"')) return "bad escape in a quoted string";
        c = peek();
      }
      a.text += c;
    }
    return "unterminated quoted string";
  }

  // "{n}" or "{n+}", CRLF, n octets: the session checked n when it read them.
  std::optional<std::string> literal(Arg& a) {
    a.kind = Arg::Kind::string;
    size_t close = in_.find('}', pos_);
    if (close == std::string_view::npos) return "bad literal";
    std::string_view num = in_.substr(pos_ + 1, close - pos_ - 1);
    if (!num.empty() && num.back() == '+') num.remove_suffix(1);
    uint64_t n = 0;
    auto [p, ec] = std::from_chars(num.data(), num.data() + num.size(), n);
    if (num.empty() || ec != std::errc() || p != num.data() + num.size()) return "bad literal";
    if (in_.substr(close + 1, 2) != "\r\n" || in_.size() - (close + 3) < n) return "bad literal";
    a.text.assign(in_.substr(close + 3, n));
    pos_ = close + 3 + n;
    return std::nullopt;
  }

  // An atom, where a '[' opens a section that runs to its ']' spaces and
  // all: BODY[HEADER.FIELDS (FROM TO)]<0.100> is one atom.
  std::optional<std::string> atom(Arg& a) {
    size_t start = pos_;
    while (!at_end()) {
      unsigned char c = peek();
      if (c == '[') {
        size_t close = in_.find(']', pos_);
        if (close == std::string_view::npos) return "unclosed [";
        for (size_t i = pos_; i < close; i++)
          if (is_ctl(in_[i])) return "bad character in a section";
        pos_ = close + 1;
        continue;
      }
      if (c == ' ' || c == '(' || c == ')' || c == '"' || c == '{' || is_ctl(c)) break;
      pos_++;
    }
    if (pos_ == start) return "bad character";
    a.text.assign(in_.substr(start, pos_ - start));
    a.kind = iequal(a.text, "NIL") ? Arg::Kind::nil : Arg::Kind::atom;
    return std::nullopt;
  }

  std::string_view in_;
  size_t pos_ = 0;
  size_t count_ = 0;
};

// tag = 1*<any ASTRING-CHAR except "+">
bool valid_tag(std::string_view t) {
  if (t.empty()) return false;
  for (unsigned char c : t)
    if (is_ctl(c) || c == ' ' || c == '(' || c == ')' || c == '{' || c == '%' || c == '*' || c == '"' ||
        c == '\\' || c == '+' || c >= 0x80)
      return false;
  return true;
}

}  // namespace

std::string to_upper(std::string_view s) {
  std::string u(s);
  for (char& c : u) c = static_cast<char>(toupper(static_cast<unsigned char>(c)));
  return u;
}

bool Arg::is(std::string_view u) const { return kind == Kind::atom && iequal(text, u); }

std::optional<std::string> parse_command(std::string_view wire, Command& out) {
  out = {};
  size_t sp = wire.find(' ');
  std::string_view tag = wire.substr(0, sp);
  if (!valid_tag(tag)) return "bad tag";
  out.tag = tag;
  if (sp == std::string_view::npos) return "missing command";
  std::string_view rest = wire.substr(sp + 1);
  size_t sp2 = rest.find(' ');
  out.name = to_upper(rest.substr(0, sp2));
  if (out.name.empty()) return "missing command";
  if (out.name == "UID" && sp2 != std::string_view::npos) {
    rest = rest.substr(sp2 + 1);
    sp2 = rest.find(' ');
    out.name += " " + to_upper(rest.substr(0, sp2));
  }
  if (sp2 == std::string_view::npos) return std::nullopt;
  std::string_view args = rest.substr(sp2 + 1);
  if (args.empty() || args.front() == ' ') return "stray space";
  return Reader(args).args(out.args, 0);
}

std::optional<Literal> literal_at_end(std::string_view line, bool* bad) {
  *bad = false;
  if (line.empty() || line.back() != '}') return std::nullopt;
  size_t open = line.rfind('{');
  if (open == std::string_view::npos) return std::nullopt;
  std::string_view num = line.substr(open + 1, line.size() - open - 2);
  Literal l;
  if (!num.empty() && num.back() == '+') {
    l.sync = false;
    num.remove_suffix(1);
  }
  auto [p, ec] = std::from_chars(num.data(), num.data() + num.size(), l.size);
  if (num.empty() || num.size() > 19 || ec != std::errc() || p != num.data() + num.size()) {
    *bad = true;
    return std::nullopt;
  }
  return l;
}

std::optional<std::vector<Range>> parse_sequence_set(std::string_view s, size_t max_ranges) {
  std::vector<Range> out;
  auto number = [](std::string_view t, uint32_t& n) {
    if (t == "*") return n = 0, true;
    auto [p, ec] = std::from_chars(t.data(), t.data() + t.size(), n);
    return !t.empty() && t[0] != '0' && ec == std::errc() && p == t.data() + t.size();
  };
  while (!s.empty()) {
    if (out.size() == max_ranges) return std::nullopt;
    size_t comma = s.find(',');
    std::string_view item = s.substr(0, comma);
    size_t colon = item.find(':');
    Range r;
    if (!number(item.substr(0, colon), r.lo)) return std::nullopt;
    r.hi = r.lo;
    if (colon != std::string_view::npos && !number(item.substr(colon + 1), r.hi)) return std::nullopt;
    out.push_back(r);
    if (comma == std::string_view::npos) return out;
    s.remove_prefix(comma + 1);
    if (s.empty()) return std::nullopt;  // a trailing comma
  }
  return std::nullopt;
}

std::string set_text(std::vector<uint32_t> n) {
  std::sort(n.begin(), n.end());
  std::string out;
  for (size_t i = 0; i < n.size();) {
    size_t j = i;
    while (j + 1 < n.size() && n[j + 1] == n[j] + 1) j++;
    if (!out.empty()) out += ',';
    out += std::to_string(n[i]);
    if (j > i) out += ':' + std::to_string(n[j]);
    i = j + 1;
  }
  return out;
}

bool in_set(const std::vector<Range>& set, uint32_t n, uint32_t star) {
  for (auto r : set) {
    uint32_t lo = r.lo ? r.lo : star, hi = r.hi ? r.hi : star;
    if (lo > hi) std::swap(lo, hi);  // "4:2" is "2:4"
    if (n >= lo && n <= hi) return true;
  }
  return false;
}

std::string astring(std::string_view s) {
  bool quotable = s.size() < 1024;
  for (unsigned char c : s)
    if (c == '\r' || c == '\n' || c == '\0' || c >= 0x80) quotable = false;
  if (!quotable) return "{" + std::to_string(s.size()) + "}\r\n" + std::string(s);
  std::string q = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') q += '\\';
    q += c;
  }
  return q + '"';
}

std::string nstring(const std::optional<std::string_view>& s) { return s ? astring(*s) : "NIL"; }

}  // namespace gannet::imap
