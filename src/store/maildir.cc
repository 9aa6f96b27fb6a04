#include "store/maildir.h"

#include <algorithm>
#include <charconv>
#include <cstdio>

#include "mail/lexer.h"
#include "store/mutf7.h"
#include "store/records.h"

namespace gannet::store::maildir {

namespace {

constexpr std::string_view kForwarded = "$Forwarded";  // RFC 5788; Maildir's P

char lower(char c) { return c >= 'A' && c <= 'Z' ? char(c - 'A' + 'a') : c; }

using mail::iequals;

// IMAP keywords are case-insensitive: one entry per keyword.
void add_keyword(std::vector<std::string>& kws, std::string_view k) {
  for (auto& have : kws)
    if (iequals(have, k)) return;
  kws.emplace_back(k);
}

bool has_control(std::string_view s) {
  return std::any_of(s.begin(), s.end(), [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; });
}

// What a dovecot-keywords line can hold: IMAP keywords are atoms.
bool keyword_ok(std::string_view k) { return !k.empty() && !has_control(k) && k.find(' ') == std::string_view::npos; }

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (lower(c) >= 'a' && lower(c) <= 'f') return lower(c) - 'a' + 10;
  return -1;
}

// A level as spelled: modified UTF-7, else UTF-8 as it is (Dovecot's
// mailbox_list_utf8).
std::optional<std::string> decode_spelling(std::string_view raw) {
  if (auto utf8 = mutf7_decode(raw)) return utf8;
  if (valid_utf8(raw)) return std::string(raw);
  return std::nullopt;
}

// One level of a folder name: listescape undone, then decode_spelling.
std::optional<std::string> decode_level(std::string_view level) {
  std::string raw;
  for (size_t i = 0; i < level.size(); i++) {
    if (level[i] == '\\' && i + 2 < level.size() && hex_value(level[i + 1]) >= 0 &&
        hex_value(level[i + 2]) >= 0) {
      raw += char(hex_value(level[i + 1]) << 4 | hex_value(level[i + 2]));
      i += 2;
    } else {
      raw += level[i];
    }
  }
  return decode_spelling(raw);
}

// --- dates: proleptic Gregorian days since 1970-01-01 (H. Hinnant's algorithms) ---

int64_t days_from_civil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  int64_t era = (y >= 0 ? y : y - 399) / 400;
  auto yoe = static_cast<unsigned>(y - era * 400);
  unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

void civil_from_days(int64_t z, int64_t& y, unsigned& m, unsigned& d) {
  z += 719468;
  int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  auto doe = static_cast<unsigned>(z - era * 146097);
  unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  unsigned mp = (5 * doy + 2) / 153;
  d = doy - (153 * mp + 2) / 5 + 1;
  m = mp < 10 ? mp + 3 : mp - 9;
  y = static_cast<int64_t>(yoe) + era * 400 + (m <= 2);
}

constexpr const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
constexpr const char* kDays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};

std::optional<unsigned> digits(std::string_view s, size_t min, size_t max) {
  if (s.size() < min || s.size() > max) return std::nullopt;
  unsigned v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + unsigned(c - '0');
  }
  return v;
}

std::vector<std::string_view> words(std::string_view s) {
  std::vector<std::string_view> out;
  size_t p = 0;
  while (p < s.size()) {
    while (p < s.size() && (s[p] == ' ' || s[p] == '\t')) p++;
    size_t e = p;
    while (e < s.size() && s[e] != ' ' && s[e] != '\t') e++;
    if (e > p) out.push_back(s.substr(p, e - p));
    p = e;
  }
  return out;
}

// The time of day of "hh:mm" or "hh:mm:ss", in seconds.
std::optional<int64_t> clock_time(std::string_view s) {
  auto h = digits(s.substr(0, s.find(':')), 1, 2);
  if (!h || *h > 23 || s.find(':') == std::string_view::npos) return std::nullopt;
  s.remove_prefix(s.find(':') + 1);
  auto colon = s.find(':');
  auto m = digits(s.substr(0, colon), 2, 2);
  auto sec = colon == std::string_view::npos ? std::optional<unsigned>(0) : digits(s.substr(colon + 1), 2, 2);
  if (!m || *m > 59 || !sec || *sec > 60) return std::nullopt;
  return int64_t(*h) * 3600 + *m * 60 + *sec;
}

// A line of s from p: [p, next) with its line break; next is where the following one starts.
std::string_view line_at(std::string_view s, size_t p, size_t& next) {
  size_t e = s.find('\n', p);
  next = e == std::string_view::npos ? s.size() : e + 1;
  return s.substr(p, next - p);
}

bool blank(std::string_view line) { return line == "\n" || line == "\r\n"; }

// ">From ", ">>From ", ...: a line that mboxrd quoted.
bool quoted_from(std::string_view line) {
  size_t n = line.find_first_not_of('>');
  return n != std::string_view::npos && n > 0 && line.substr(n).starts_with("From ");
}

}  // namespace

// --- file names ---

KeywordTable parse_keywords_file(std::string_view text) {
  KeywordTable table;
  size_t p = 0, next;
  while (p < text.size()) {
    std::string_view line = line_at(text, p, next);
    p = next;
    while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.remove_suffix(1);
    size_t sp = line.find(' ');
    auto index = digits(line.substr(0, sp), 1, 2);
    if (!index || *index >= kMaxKeywordLetters || sp == std::string_view::npos || !keyword_ok(line.substr(sp + 1))) continue;
    if (table.size() <= *index) table.resize(*index + 1);
    table[*index] = line.substr(sp + 1);
  }
  return table;
}

std::string format_keywords_file(const KeywordTable& table) {
  std::string out;
  for (size_t i = 0; i < table.size(); i++)
    if (!table[i].empty()) out += std::to_string(i) + " " + table[i] + "\n";
  return out;
}

std::string format_uidlist(uint32_t uidvalidity, uint32_t uidnext, const std::vector<UidEntry>& entries) {
  std::string out = "3 V" + std::to_string(uidvalidity) + " N" + std::to_string(uidnext) + "\n";
  for (auto& e : entries) out += std::to_string(e.uid) + " :" + e.unique + "\n";
  return out;
}

namespace {

std::optional<uint32_t> uint32_of(std::string_view s) {
  uint32_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size() || s.empty()) return std::nullopt;
  return v;
}

}  // namespace

std::optional<Uidlist> parse_uidlist(std::string_view text) {
  Uidlist out;
  size_t p = 0, next;
  std::string_view header = line_at(text, p, next);
  p = next;
  while (!header.empty() && (header.back() == '\n' || header.back() == '\r')) header.remove_suffix(1);
  if (!header.starts_with("3 ")) return std::nullopt;
  for (size_t at = 2; at < header.size();) {
    size_t sp = std::min(header.find(' ', at), header.size());
    std::string_view field = header.substr(at, sp - at);
    at = sp + 1;
    if (field.size() < 2) continue;
    if (field[0] == 'V') out.uidvalidity = uint32_of(field.substr(1)).value_or(0);
    else if (field[0] == 'N') out.uidnext = uint32_of(field.substr(1)).value_or(0);
  }
  if (out.uidvalidity == 0 || out.uidnext == 0) return std::nullopt;
  while (p < text.size()) {
    std::string_view line = line_at(text, p, next);
    p = next;
    while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.remove_suffix(1);
    size_t name = line.find(" :");
    auto uid = uint32_of(line.substr(0, std::min(line.find(' '), line.size())));
    if (!uid || *uid == 0 || name == std::string_view::npos || name + 2 >= line.size()) continue;
    out.uids.emplace(std::string(line.substr(name + 2)), *uid);
  }
  return out;
}

char keyword_letter(KeywordTable& table, std::string_view keyword) {
  if (!keyword_ok(keyword)) return 0;
  // The exact spelling first: a table may hold two that differ in case only.
  for (size_t i = 0; i < table.size(); i++)
    if (table[i] == keyword) return char('a' + i);
  for (size_t i = 0; i < table.size(); i++)
    if (iequals(table[i], keyword)) return char('a' + i);
  for (size_t i = 0; i < table.size(); i++)
    if (table[i].empty()) return table[i] = keyword, char('a' + i);
  if (table.size() >= kMaxKeywordLetters) return 0;
  table.emplace_back(keyword);
  return char('a' + table.size() - 1);
}

Flags parse_filename(std::string_view name, const KeywordTable& table) {
  Flags f;
  size_t colon = name.rfind(':');
  if (colon == std::string_view::npos || name.substr(colon + 1, 2) != "2,") return f;
  for (char c : name.substr(colon + 3)) {
    if (c == ',') break;  // Dovecot: another field follows
    switch (c) {
      case 'D': f.flags |= FLAG_DRAFT; break;
      case 'F': f.flags |= FLAG_FLAGGED; break;
      case 'P': add_keyword(f.keywords, kForwarded); break;
      case 'R': f.flags |= FLAG_ANSWERED; break;
      case 'S': f.flags |= FLAG_SEEN; break;
      case 'T': f.flags |= FLAG_DELETED; break;
      default:
        if (c >= 'a' && c <= 'z' && size_t(c - 'a') < table.size() && !table[c - 'a'].empty())
          add_keyword(f.keywords, table[c - 'a']);
        else
          f.unknown += c;
    }
  }
  return f;
}

std::string make_filename(std::string_view unique, uint32_t flags, const std::vector<std::string>& keywords,
                          KeywordTable& table, size_t* dropped) {
  std::string letters;
  if (flags & FLAG_DRAFT) letters += 'D';
  if (flags & FLAG_FLAGGED) letters += 'F';
  if (flags & FLAG_ANSWERED) letters += 'R';
  if (flags & FLAG_SEEN) letters += 'S';
  if (flags & FLAG_DELETED) letters += 'T';
  for (auto& k : keywords) {
    // P for Maildir readers, and a letter too: Dovecot ignores P.
    bool forwarded = iequals(k, kForwarded);
    if (forwarded) letters += 'P';
    if (char l = keyword_letter(table, k)) letters += l;
    else if (dropped && !forwarded) ++*dropped;
  }
  std::sort(letters.begin(), letters.end());
  letters.erase(std::unique(letters.begin(), letters.end()), letters.end());
  return std::string(unique) + ":2," + letters;
}

// --- folders ---

std::optional<std::string> folder_to_mailbox(std::string_view dir) {
  if (dir.size() < 2 || dir[0] != '.' || dir == "..") return std::nullopt;
  std::string name;
  for (size_t p = 1;;) {
    size_t dot = dir.find('.', p);
    auto level = decode_level(dir.substr(p, dot == std::string_view::npos ? std::string_view::npos : dot - p));
    if (!level) return std::nullopt;
    name += *level;
    if (dot == std::string_view::npos) break;
    name += '/';
    p = dot + 1;
  }
  if (has_control(name)) return std::nullopt;
  return name;
}

std::optional<std::string> mailbox_to_folder(std::string_view mailbox) {
  if (mailbox == "INBOX") return "";
  if (mailbox.empty() || has_control(mailbox)) return std::nullopt;
  std::string dir = ".";
  for (size_t p = 0;;) {
    size_t slash = mailbox.find('/', p);
    auto level = mutf7_encode(mailbox.substr(p, slash == std::string_view::npos ? std::string_view::npos : slash - p));
    if (!level) return std::nullopt;
    for (char c : *level) {
      if (c == '.') dir += "\\2e";
      else if (c == '\\') dir += "\\5c";
      else dir += c;
    }
    if (slash == std::string_view::npos) break;
    dir += '.';
    p = slash + 1;
  }
  if (dir == "." || dir == "..") return std::nullopt;
  return dir;
}

// --- subscriptions ---

namespace {

constexpr std::string_view kSubscriptionsV2 = "V\t2\n\n";
constexpr char kTabEscape = '\001';

std::string tab_escape(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (c == kTabEscape) out += "\0011";
    else if (c == '\t') out += "\001t";
    else if (c == '\r') out += "\001r";
    else if (c == '\n') out += "\001n";
    else out += c;
  }
  return out;
}

std::string tab_unescape(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); i++) {
    if (s[i] != kTabEscape || i + 1 == s.size()) {
      out += s[i];
      continue;
    }
    char c = s[++i];
    out += c == '1' ? kTabEscape : c == 't' ? '\t' : c == 'r' ? '\r' : c == 'n' ? '\n' : c;
  }
  return out;
}

// levels, each decoded from its spelling, joined with '/'.
std::optional<std::string> join_levels(const std::vector<std::string>& levels) {
  std::string name;
  for (auto& level : levels) {
    auto utf8 = decode_spelling(level);
    if (!utf8 || utf8->empty() || utf8->find('/') != std::string::npos) return std::nullopt;
    if (!name.empty()) name += '/';
    name += *utf8;
  }
  if (name.empty() || has_control(name)) return std::nullopt;
  return mail::iequals(name, "INBOX") ? "INBOX" : name;
}

std::vector<std::string> split(std::string_view s, char sep) {
  std::vector<std::string> out;
  for (size_t p = 0;;) {
    size_t q = s.find(sep, p);
    out.emplace_back(s.substr(p, q == std::string_view::npos ? std::string_view::npos : q - p));
    if (q == std::string_view::npos) return out;
    p = q + 1;
  }
}

}  // namespace

std::string format_subscriptions(const std::vector<std::string>& mailboxes) {
  std::string out(kSubscriptionsV2);
  for (auto& name : mailboxes) {
    if (name.empty() || has_control(name)) continue;
    std::string line;
    bool ok = true;
    for (auto& level : split(name, '/')) {
      auto spelled = mutf7_encode(level);
      if (!spelled || spelled->empty()) ok = false;
      if (!ok) break;
      if (!line.empty()) line += '\t';
      line += tab_escape(*spelled);
    }
    if (ok) out += line + '\n';
  }
  return out;
}

std::vector<std::string> parse_subscriptions(std::string_view text) {
  bool v2 = text.starts_with(kSubscriptionsV2);
  if (v2) text.remove_prefix(kSubscriptionsV2.size());
  std::vector<std::string> out;
  for (auto& line : split(text, '\n')) {
    if (line.ends_with('\r') && !v2) line.pop_back();
    if (line.empty()) continue;
    std::vector<std::string> levels = split(line, v2 ? '\t' : '.');
    if (v2)
      for (auto& level : levels) level = tab_unescape(level);
    if (auto name = join_levels(levels)) out.push_back(std::move(*name));
  }
  return out;
}

// --- mbox ---

bool MboxReader::next(MboxMessage& out) {
  if (pos_ >= in_.size() || !valid()) return false;
  size_t p;
  out.date = parse_from_line_date(line_at(in_, pos_, p));
  out.data.clear();
  size_t blank_len = 0;  // the previous line's length when it was blank
  while (p < in_.size()) {
    size_t next;
    std::string_view line = line_at(in_, p, next);
    if (blank_len && line.starts_with("From ")) {
      out.data.resize(out.data.size() - blank_len);  // the separator
      pos_ = p;
      return true;
    }
    blank_len = blank(line) ? line.size() : 0;
    if (quoted_from(line)) line.remove_prefix(1);
    out.data += line;
    p = next;
  }
  if (blank_len) out.data.resize(out.data.size() - blank_len);
  pos_ = in_.size();
  return true;
}

std::optional<int64_t> parse_from_line_date(std::string_view line) {
  while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.remove_suffix(1);
  if (!line.starts_with("From ")) return std::nullopt;
  auto w = words(line.substr(5));
  // w[0] is the sender; find the month after it (a weekday may come first).
  for (size_t i = 1; i + 2 < w.size(); i++) {
    auto month = std::find_if(std::begin(kMonths), std::end(kMonths), [&](const char* m) { return iequals(w[i], m); });
    if (month == std::end(kMonths)) continue;
    auto day = digits(w[i + 1], 1, 2);
    auto secs = clock_time(w[i + 2]);
    if (!day || *day < 1 || *day > 31 || !secs) continue;
    std::optional<unsigned> year;
    int64_t offset = 0;
    for (size_t j = i + 3; j < w.size(); j++) {
      if (!year && (year = digits(w[j], 4, 4))) continue;
      auto hhmm = digits(w[j].substr(std::min<size_t>(1, w[j].size())), 4, 4);
      if ((w[j][0] == '+' || w[j][0] == '-') && hhmm && *hhmm % 100 < 60)
        offset = (w[j][0] == '-' ? -1 : 1) * int64_t(*hhmm / 100 * 3600 + *hhmm % 100 * 60);
    }
    if (!year) return std::nullopt;
    auto m = static_cast<unsigned>(month - std::begin(kMonths)) + 1;
    return days_from_civil(*year, m, *day) * 86400 + *secs - offset;
  }
  return std::nullopt;
}

std::string mbox_entry(std::string_view message, std::string_view sender, int64_t date) {
  size_t first_lf = message.find('\n');
  std::string_view eol = first_lf != std::string_view::npos && first_lf > 0 && message[first_lf - 1] == '\r' ? "\r\n" : "\n";
  if (sender.empty() || sender.find_first_of(" \t\r\n") != std::string_view::npos) sender = "MAILER-DAEMON";

  int64_t days = date >= 0 ? date / 86400 : (date - 86399) / 86400, secs = date - days * 86400;
  int64_t y;
  unsigned m, d;
  civil_from_days(days, y, m, d);
  char when[64];
  snprintf(when, sizeof when, "%s %s %2u %02u:%02u:%02u %lld", kDays[((days % 7) + 11) % 7], kMonths[m - 1], d,
           unsigned(secs / 3600), unsigned(secs / 60 % 60), unsigned(secs % 60), static_cast<long long>(y));

  std::string out = "From " + std::string(sender) + " " + when + std::string(eol);
  out.reserve(out.size() + message.size() + 4);
  for (size_t p = 0, next; p < message.size(); p = next) {
    std::string_view line = line_at(message, p, next);
    if (line.starts_with("From ") || quoted_from(line)) out += '>';
    out += line;
  }
  if (message.empty()) out += eol;
  else if (!message.ends_with('\n')) out += std::string(eol) + std::string(eol);
  else out += message.ends_with("\r\n") ? "\r\n" : "\n";
  return out;
}

uint32_t mbox_status_flags(std::string_view message) {
  uint32_t flags = 0;
  for (size_t p = 0, next; p < message.size(); p = next) {
    std::string_view line = line_at(message, p, next);
    while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.remove_suffix(1);
    if (line.empty()) break;  // the header ends
    size_t colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    std::string_view name = line.substr(0, colon), value = line.substr(colon + 1);
    if (iequals(name, "Status")) {
      if (value.find('R') != std::string_view::npos) flags |= FLAG_SEEN;
    } else if (iequals(name, "X-Status")) {
      for (char c : value) {
        if (c == 'A') flags |= FLAG_ANSWERED;
        else if (c == 'F') flags |= FLAG_FLAGGED;
        else if (c == 'D') flags |= FLAG_DELETED;
        else if (c == 'T') flags |= FLAG_DRAFT;
      }
    }
  }
  return flags;
}

}  // namespace gannet::store::maildir
