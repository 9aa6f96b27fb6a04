#include "imap_search.h"

#include "imap_flags.h"
#include "mail/decode.h"
#include "mail/header.h"
#include "mail/lexer.h"

namespace gannet::imap {

namespace {

using mail::iequals;

constexpr size_t kMaxKeys = 1000;  // in one SEARCH, nested ones included

// date = date-day "-" date-month "-" date-year ("1-Feb-1994"): days since 1970.
std::optional<int64_t> parse_day(std::string_view s) {
  static const char* const months[] = {"jan", "feb", "mar", "apr", "may", "jun",
                                       "jul", "aug", "sep", "oct", "nov", "dec"};
  auto d1 = s.find('-'), d2 = s.rfind('-');
  if (d1 == std::string_view::npos || d2 != d1 + 4) return std::nullopt;
  int month = -1;
  for (int i = 0; i < 12; i++)
    if (iequals(s.substr(d1 + 1, 3), months[i])) month = i + 1;
  auto d = parse_digits(s.substr(0, d1), 31), y = parse_digits(s.substr(d2 + 1), 9999);
  if (!d || !y || month < 0 || *d < 1 || *y < 1) return std::nullopt;
  int64_t day = static_cast<int64_t>(*d), year = static_cast<int64_t>(*y);
  // Days from civil (Howard Hinnant's algorithm).
  year -= month <= 2;
  int64_t era = (year >= 0 ? year : year - 399) / 400;
  int64_t yoe = year - era * 400;
  int64_t doy = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1;
  int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

// The date a Date: field names, as written ("Thu, 1 Jan 2026 10:00:00
// +0100" is 1 Jan 2026 whatever the zone: RFC 3501 disregards it).
std::optional<int64_t> sent_day(std::string_view value) {
  std::string v = mail::unfold(value);
  if (auto comma = v.find(','); comma != std::string::npos) v = v.substr(comma + 1);
  size_t i = v.find_first_not_of(" \t");
  if (i == std::string::npos) return std::nullopt;
  // "1 Jan 2026" -> "1-Jan-2026"
  size_t a = v.find(' ', i), b = a == std::string::npos ? a : v.find(' ', a + 1);
  if (b == std::string::npos) b = v.size();
  if (a == std::string::npos) return std::nullopt;
  size_t c = v.find(' ', b + 1);
  std::string d = v.substr(i, a - i) + "-" + v.substr(a + 1, b - a - 1) + "-" +
                  v.substr(b + 1, c == std::string::npos ? std::string::npos : c - b - 1);
  return parse_day(d);
}

// ASCII letters fold; the rest must match as octets.
bool contains(std::string_view hay, std::string_view needle) {
  if (needle.empty()) return true;
  auto it = std::search(hay.begin(), hay.end(), needle.begin(), needle.end(), [](char x, char y) {
    return tolower(static_cast<unsigned char>(x)) == tolower(static_cast<unsigned char>(y));
  });
  return it != hay.end();
}

class Parser {
 public:
  Parser(const std::vector<Arg>& args, size_t pos) : args_(args), pos_(pos) {}

  std::optional<std::string> all(SearchKey& out) {
    out.kind = SearchKey::and_;
    if (pos_ < args_.size() && args_[pos_].is("CHARSET")) {
      if (++pos_ >= args_.size() || !args_[pos_].is_string()) return "CHARSET needs a name";
      const std::string& cs = args_[pos_++].text;
      if (!iequals(cs, "UTF-8") && !iequals(cs, "US-ASCII")) return "charset";
    }
    if (pos_ >= args_.size()) return "missing search key";
    while (pos_ < args_.size()) {
      SearchKey k;
      if (auto err = key(args_, pos_, k, 0)) return err;
      out.keys.push_back(std::move(k));
    }
    return std::nullopt;
  }

 private:
  std::optional<std::string> key(const std::vector<Arg>& args, size_t& pos, SearchKey& k, size_t depth) {
    if (++count_ > kMaxKeys || depth > kMaxDepth) return "too many search keys";
    const Arg& a = args[pos++];
    if (a.kind == Arg::Kind::list) {  // ( search-key *(SP search-key) )
      if (a.items.empty()) return "empty search list";
      k.kind = SearchKey::and_;
      for (size_t p = 0; p < a.items.size();) {
        SearchKey sub;
        if (auto err = key(a.items, p, sub, depth + 1)) return err;
        k.keys.push_back(std::move(sub));
      }
      return std::nullopt;
    }
    if (a.kind != Arg::Kind::atom) return "bad search key";
    std::string name = to_upper(a.text);
    auto string_arg = [&](std::string& into) -> bool {
      if (pos >= args.size() || !args[pos].is_string()) return false;
      into = args[pos++].text;
      return true;
    };
    auto flag = [&](SearchKey::Kind kind, uint32_t bit) {
      k.kind = kind;
      k.flag = bit;
      return std::nullopt;
    };
    static const std::pair<std::string_view, uint32_t> flags[] = {
        {"SEEN", store::FLAG_SEEN}, {"ANSWERED", store::FLAG_ANSWERED}, {"FLAGGED", store::FLAG_FLAGGED},
        {"DELETED", store::FLAG_DELETED}, {"DRAFT", store::FLAG_DRAFT}};
    for (auto& [fname, bit] : flags) {
      if (name == fname) return flag(SearchKey::flag_set, bit);
      if (name == "UN" + std::string(fname)) return flag(SearchKey::flag_clear, bit);
    }
    if (name == "ALL" || name == "OLD") return k.kind = SearchKey::all, std::nullopt;
    // Nothing is \Recent here: RECENT and NEW match nothing, OLD all.
    if (name == "RECENT" || name == "NEW") {
      k.kind = SearchKey::not_;
      k.keys.emplace_back().kind = SearchKey::all;
      return std::nullopt;
    }
    if (name == "KEYWORD" || name == "UNKEYWORD") {
      k.kind = name == "KEYWORD" ? SearchKey::keyword : SearchKey::unkeyword;
      return string_arg(k.value) ? std::nullopt : std::optional<std::string>(name + " needs a flag");
    }
    static const std::pair<std::string_view, std::string_view> headers[] = {
        {"FROM", "from"}, {"TO", "to"}, {"CC", "cc"}, {"BCC", "bcc"}, {"SUBJECT", "subject"}};
    for (auto& [hname, field] : headers)
      if (name == hname) {
        k.kind = SearchKey::header;
        k.field = field;
        return string_arg(k.value) ? std::nullopt : std::optional<std::string>(name + " needs a string");
      }
    if (name == "HEADER") {
      k.kind = SearchKey::header;
      if (!string_arg(k.field) || !string_arg(k.value)) return "HEADER needs a field name and a string";
      for (char& c : k.field) c = static_cast<char>(tolower(static_cast<unsigned char>(c)));
      return std::nullopt;
    }
    if (name == "BODY" || name == "TEXT") {
      k.kind = name == "BODY" ? SearchKey::body : SearchKey::text;
      return string_arg(k.value) ? std::nullopt : std::optional<std::string>(name + " needs a string");
    }
    static const std::pair<std::string_view, SearchKey::Kind> dates[] = {
        {"BEFORE", SearchKey::before}, {"ON", SearchKey::on}, {"SINCE", SearchKey::since},
        {"SENTBEFORE", SearchKey::sent_before}, {"SENTON", SearchKey::sent_on}, {"SENTSINCE", SearchKey::sent_since}};
    for (auto& [dname, kind] : dates)
      if (name == dname) {
        k.kind = kind;
        std::string d;
        auto day = string_arg(d) ? parse_day(d) : std::nullopt;
        if (!day) return name + " needs a date (1-Feb-2026)";
        k.day = *day;
        return std::nullopt;
      }
    if (name == "LARGER" || name == "SMALLER") {
      k.kind = name == "LARGER" ? SearchKey::larger : SearchKey::smaller;
      std::string n;
      auto v = string_arg(n) ? parse_digits(n) : std::nullopt;
      if (!v) return name + " needs a number";
      k.number = *v;
      return std::nullopt;
    }
    // MODSEQ [entry-name entry-type] n (RFC 7162 3.1.5): one MODSEQ per
    // message here, so the entry is read and not looked at.
    if (name == "MODSEQ") {
      k.kind = SearchKey::modseq;
      if (pos + 2 < args.size() && args[pos].kind == Arg::Kind::string) pos += 2;
      std::string n;
      auto v = string_arg(n) ? parse_digits(n) : std::nullopt;
      if (!v) return "MODSEQ needs a number";
      k.number = *v;
      return std::nullopt;
    }
    if (name == "UID") {
      k.kind = SearchKey::uid;
      std::string s;
      auto set = string_arg(s) ? parse_sequence_set(s) : std::nullopt;
      if (!set) return "UID needs a sequence set";
      k.set = std::move(*set);
      return std::nullopt;
    }
    if (name == "NOT" || name == "OR") {
      k.kind = name == "NOT" ? SearchKey::not_ : SearchKey::or_;
      for (int i = 0; i < (name == "NOT" ? 1 : 2); i++) {
        if (pos >= args.size()) return name + " needs " + (name == "NOT" ? "a key" : "two keys");
        SearchKey sub;
        if (auto err = key(args, pos, sub, depth + 1)) return err;
        k.keys.push_back(std::move(sub));
      }
      return std::nullopt;
    }
    if (a.text == "$") {
      k.kind = SearchKey::saved;
      return std::nullopt;
    }
    if (auto set = parse_sequence_set(a.text)) {
      k.kind = SearchKey::seq;
      k.set = std::move(*set);
      return std::nullopt;
    }
    return "unknown search key " + a.text;
  }

  const std::vector<Arg>& args_;
  size_t pos_;
  size_t count_ = 0;
};

// Every field of that name in the top header, decoded.
bool header_has(SearchMessage& m, const std::string& field, const std::string& value) {
  const auto& p = m.parsed();
  if (p.parts.empty()) return false;
  std::string_view raw = m.raw();
  std::string_view header = raw.substr(0, std::min<uint64_t>(p.parts[0].header_end, raw.size()));
  size_t pos = 0;
  while (pos < header.size()) {
    size_t start = pos;
    pos = mail::line_at(header, pos).next;
    while (pos < header.size() && (header[pos] == ' ' || header[pos] == '\t')) pos = mail::line_at(header, pos).next;
    std::string_view name, v;
    if (!mail::split_field(header.substr(start, pos - start), name, v)) continue;
    while (!name.empty() && (name.back() == ' ' || name.back() == '\t')) name.remove_suffix(1);
    if (iequals(name, field) && contains(mail::decode_words(mail::unfold(v)), value)) return true;
  }
  return false;
}

// The message's text parts, decoded to UTF-8, one after another.
const std::string& body_text(SearchMessage& m) {
  if (m.body_text) return *m.body_text;
  const auto& p = m.parsed();
  std::string_view raw = m.raw();
  std::string out;
  for (uint32_t i = 0; i < p.parts.size(); i++) {
    const mail::Part& part = p.parts[i];
    if (part.type != "text" || part.body_end > raw.size()) continue;
    const mail::Param* cs = mail::find_param(part.params, "charset");
    out += mail::to_utf8(mail::decode_transfer(raw.substr(part.body_start, part.size()), part.encoding),
                         cs ? cs->value : "us-ascii");
    out += '\n';
  }
  return *(m.body_text = std::move(out));
}

int64_t day_of(int64_t unix_time) { return (unix_time >= 0 ? unix_time : unix_time - 86399) / 86400; }

}  // namespace

bool SearchKey::needs_body() const {
  if (kind == header || kind == body || kind == text || kind == sent_before || kind == sent_on || kind == sent_since)
    return true;
  return std::any_of(keys.begin(), keys.end(), [](const SearchKey& k) { return k.needs_body(); });
}

bool SearchKey::uses_modseq() const {
  return kind == modseq || std::any_of(keys.begin(), keys.end(), [](const SearchKey& k) { return k.uses_modseq(); });
}

std::optional<std::string> parse_search(const std::vector<Arg>& args, size_t start, SearchKey& out) {
  return Parser(args, start).all(out);
}

bool matches(const SearchKey& k, SearchMessage& m) {
  const store::Message& r = m.record;
  switch (k.kind) {
    case SearchKey::all: return true;
    case SearchKey::flag_set: return r.flags & k.flag;
    case SearchKey::flag_clear: return !(r.flags & k.flag);
    case SearchKey::keyword:
    case SearchKey::unkeyword: {
      bool has = std::any_of(r.keywords.begin(), r.keywords.end(), [&](auto& w) { return iequals(w, k.value); });
      return has == (k.kind == SearchKey::keyword);
    }
    case SearchKey::header:
      // HEADER name "": the field is there at all.
      return header_has(m, k.field, k.value);
    case SearchKey::body: return contains(body_text(m), k.value);
    case SearchKey::text: {
      const auto& p = m.parsed();
      std::string_view raw = m.raw();
      std::string_view header = p.parts.empty() ? raw : raw.substr(0, std::min<uint64_t>(p.parts[0].body_start, raw.size()));
      return contains(mail::decode_words(header), k.value) || contains(body_text(m), k.value);
    }
    case SearchKey::before: return day_of(r.internal_date) < k.day;
    case SearchKey::on: return day_of(r.internal_date) == k.day;
    case SearchKey::since: return day_of(r.internal_date) >= k.day;
    case SearchKey::sent_before:
    case SearchKey::sent_on:
    case SearchKey::sent_since: {
      const auto& p = m.parsed();
      if (p.envelopes.empty() || !p.envelopes[0].date) return false;
      auto d = sent_day(*p.envelopes[0].date);
      if (!d) return false;
      return k.kind == SearchKey::sent_before ? *d < k.day : k.kind == SearchKey::sent_on ? *d == k.day : *d >= k.day;
    }
    case SearchKey::modseq: return r.modseq >= k.number;
    case SearchKey::saved: return m.saved && std::binary_search(m.saved->begin(), m.saved->end(), r.uid);
    case SearchKey::larger: return r.size > k.number;
    case SearchKey::smaller: return r.size < k.number;
    case SearchKey::uid: return in_set(k.set, r.uid, m.last_uid);
    case SearchKey::seq: return in_set(k.set, m.seq, m.last_seq);
    case SearchKey::not_: return !matches(k.keys[0], m);
    case SearchKey::or_: return matches(k.keys[0], m) || matches(k.keys[1], m);
    case SearchKey::and_:
      return std::all_of(k.keys.begin(), k.keys.end(), [&](const SearchKey& sub) { return matches(sub, m); });
  }
  return false;
}

}  // namespace gannet::imap
