// SMTP's command grammar: RFC 5321 4.1.1-4.1.4 and 4.5.3, with the
// extensions whose parameters ride on MAIL and RCPT: SIZE (RFC 1870),
// BODY (RFC 6152, RFC 3030), SMTPUTF8 (RFC 6531), DSN (RFC 3461) and
// AUTH= (RFC 4954).
#include "smtp_parse.h"

#include <arpa/inet.h>

#include <algorithm>
#include <charconv>

namespace gannet::smtp {

namespace {

// --- replies ---

SyntaxError bad_sender() { return {501, "5.1.7 Bad sender address syntax"}; }
SyntaxError bad_recipient() { return {501, "5.1.3 Bad recipient address syntax"}; }
SyntaxError param_error(std::string_view what) { return {555, "5.5.4 " + std::string(what)}; }

// --- bytes ---

char lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }
char upper(char c) { return c >= 'a' && c <= 'z' ? static_cast<char>(c - 'a' + 'A') : c; }

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) { return lower(x) == lower(y); });
}

std::string to_upper(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), upper);
  return out;
}

bool is_alpha(unsigned char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'); }
bool is_digit(unsigned char c) { return c >= '0' && c <= '9'; }
bool is_alnum(unsigned char c) { return is_alpha(c) || is_digit(c); }
bool is_hex_upper(unsigned char c) { return is_digit(c) || (c >= 'A' && c <= 'F'); }
bool is_hex(unsigned char c) { return is_hex_upper(c) || (c >= 'a' && c <= 'f'); }
int hex_value(unsigned char c) { return is_digit(c) ? c - '0' : c - 'A' + 10; }

// RFC 5322 atext; '%' and '!' are plain characters here, never routing.
bool is_atext(unsigned char c) {
  static constexpr std::string_view specials = "!#$%&'*+-/=?^_`{|}~";
  return is_alnum(c) || (c != 0 && specials.find(static_cast<char>(c)) != std::string_view::npos);
}

// RFC 5321 qtextSMTP: printable ASCII but '"' and '\'.
bool is_qtext(unsigned char c) { return c >= 32 && c <= 126 && c != '"' && c != '\\'; }

// The length of a multi-octet UTF-8 character at s[i], 0 if there is none
// (RFC 6531: UTF8-non-ascii is allowed where atext, qtext and U-labels are).
size_t utf8_non_ascii(std::string_view s, size_t i) {
  if (static_cast<unsigned char>(s[i]) < 0x80) return 0;
  return utf8_sequence(s.substr(i));
}

// --- domains ---

// Domain = sub-domain *("." sub-domain), sub-domain = Let-dig [Ldh-str];
// RFC 6531 lets a sub-domain be a U-label, taken here as any UTF-8 run.
// Only ASCII labels are held to DNS's 63 octets: a U-label's limit is on
// its A-label.
bool valid_domain(std::string_view d, bool& utf8) {
  if (d.empty() || d.size() > kMaxDomain) return false;
  size_t label = 0;
  bool ascii = true, hyphen_last = false, any_utf8 = false;
  auto label_ok = [&] { return label > 0 && !hyphen_last && !(ascii && label > 63); };
  for (size_t i = 0; i < d.size(); i++) {
    unsigned char c = d[i];
    if (c == '.') {
      if (!label_ok()) return false;
      label = 0;
      ascii = true;
      continue;
    }
    if (c == '-') {
      if (label == 0) return false;  // a label starts with a Let-dig
      hyphen_last = true;
      label++;
      continue;
    }
    hyphen_last = false;
    if (is_alnum(c)) {
      label++;
    } else if (size_t n = utf8_non_ascii(d, i)) {
      i += n - 1;
      label += n;
      ascii = false;
      any_utf8 = true;
    } else {
      return false;
    }
  }
  if (!label_ok()) return false;
  utf8 = utf8 || any_utf8;
  return true;
}

// IPv4-address-literal = Snum 3("." Snum), Snum = 1*3DIGIT up to 255.
bool valid_ipv4(std::string_view s) {
  int groups = 0;
  size_t i = 0;
  while (groups < 4) {
    size_t start = i;
    unsigned value = 0;
    while (i < s.size() && is_digit(s[i]) && i - start < 3) value = value * 10 + (s[i++] - '0');
    if (i == start || value > 255) return false;
    if (++groups < 4) {
      if (i >= s.size() || s[i] != '.') return false;
      i++;
    }
  }
  return i == s.size();
}

// The inside of "[...]": IPv4, or "IPv6:" and what inet_pton takes (the
// RFC 5321 forms: full, compressed, with a trailing IPv4). Other tags of
// General-address-literal have no registered meaning and are refused.
// Sets canonical to the literal with its brackets, hex in lower case.
bool valid_literal(std::string_view inner, std::string& canonical) {
  static constexpr std::string_view tag = "IPv6:";
  if (valid_ipv4(inner)) {
    canonical = "[" + std::string(inner) + "]";
    return true;
  }
  if (inner.size() <= tag.size() || !iequals(inner.substr(0, tag.size()), tag)) return false;
  std::string_view addr = inner.substr(tag.size());
  // Only the octets of RFC 5321's IPv6 forms: a NUL would end the C string
  // inet_pton reads, and what follows it would go unchecked.
  if (addr.size() >= INET6_ADDRSTRLEN ||
      !std::all_of(addr.begin(), addr.end(), [](unsigned char c) { return is_hex(c) || c == ':' || c == '.'; }))
    return false;
  std::string text(addr);
  in6_addr out;
  if (inet_pton(AF_INET6, text.c_str(), &out) != 1) return false;
  std::transform(text.begin(), text.end(), text.begin(), lower);
  canonical = "[" + std::string(tag) + text + "]";
  return true;
}

// --- paths ---

enum class PathKind {
  reverse,  // MAIL: "<>" allowed
  forward,  // RCPT: "<Postmaster>" allowed
};

// Path = "<" [ A-d-l ":" ] Mailbox ">", scanned one octet at a time. The
// '>' must come within kMaxPath octets. Returns the offset past '>', 0 if
// s does not start with a valid path.
size_t parse_path(std::string_view s, PathKind kind, Path& out) {
  enum {
    sw_open,
    sw_first,         // after '<': '>', '@' (a route) or the local part
    sw_route_domain,  // "@domain" of a source route, up to ',' or ':'
    sw_route_at,      // after ',' in a route
    sw_local,         // the first octet of the local part
    sw_atom_start,    // an atom must start here (after '.' or at the start)
    sw_atom,
    sw_quoted,
    sw_quoted_pair,
    sw_quoted_end,    // after the closing '"'
    sw_domain_start,
    sw_domain,
    sw_literal,
    sw_literal_end,   // after ']'
  } state = sw_open;

  size_t local_start = 0, local_end = 0, domain_start = 0, domain_end = 0, route_start = 0, done = 0;
  bool utf8 = false, routed = false, quoted = false, literal = false, postmaster = false;
  size_t end = std::min(s.size(), kMaxPath);

  for (size_t i = 0; i < end && !done; i++) {
    unsigned char c = s[i];
    switch (state) {
      case sw_open:
        if (c != '<') return 0;
        state = sw_first;
        break;

      case sw_first:
        if (c == '>') {
          if (kind != PathKind::reverse) return 0;
          out = Path();
          out.null = true;
          return i + 1;
        }
        if (c == '@') {
          route_start = i + 1;
          state = sw_route_domain;
          break;
        }
        [[fallthrough]];

      case sw_local:
        local_start = i;
        if (c == '"') {
          quoted = true;
          state = sw_quoted;
          break;
        }
        [[fallthrough]];

      case sw_atom_start:
      case sw_atom:
        if (is_atext(c)) {
          state = sw_atom;
        } else if (size_t n = utf8_non_ascii(s, i)) {
          i += n - 1;
          utf8 = true;
          state = sw_atom;
        } else if (state != sw_atom) {
          return 0;  // empty local part, "..", a leading '.', or a bad octet
        } else if (c == '.') {
          state = sw_atom_start;
        } else if (c == '@') {
          local_end = i;
          state = sw_domain_start;
        } else if (c == '>') {
          // RFC 5321 4.1.1.3: "<Postmaster>" alone names this server's.
          local_end = i;
          if (kind != PathKind::forward || routed || !iequals(s.substr(local_start, i - local_start), "postmaster"))
            return 0;
          postmaster = true;
          done = i + 1;
        } else {
          return 0;
        }
        break;

      case sw_quoted:
        if (c == '\\') {
          state = sw_quoted_pair;
        } else if (c == '"') {
          local_end = i + 1;
          state = sw_quoted_end;
        } else if (size_t n = utf8_non_ascii(s, i)) {
          i += n - 1;
          utf8 = true;
        } else if (!is_qtext(c)) {
          return 0;
        }
        break;

      case sw_quoted_pair:
        if (c < 32 || c > 126) return 0;  // quoted-pairSMTP escapes printable ASCII only
        state = sw_quoted;
        break;

      case sw_quoted_end:
        if (c != '@') return 0;
        state = sw_domain_start;
        break;

      case sw_route_domain:
        if (c == ',' || c == ':') {
          bool ignored = false;  // the route is dropped: its domains need no SMTPUTF8
          if (!valid_domain(s.substr(route_start, i - route_start), ignored)) return 0;
          routed = true;
          state = c == ',' ? sw_route_at : sw_local;
        } else if (c == '>') {
          return 0;
        }
        break;

      case sw_route_at:
        if (c != '@') return 0;
        route_start = i + 1;
        state = sw_route_domain;
        break;

      case sw_domain_start:
        domain_start = i;
        if (c == '[') {
          literal = true;
          state = sw_literal;
          break;
        }
        state = sw_domain;
        [[fallthrough]];

      case sw_domain:
        // The octets are checked as a whole by valid_domain below.
        if (c == '>') {
          domain_end = i;
          done = i + 1;
        }
        break;

      case sw_literal:
        if (c == ']') {
          domain_end = i + 1;
          state = sw_literal_end;
        }
        break;

      case sw_literal_end:
        if (c != '>') return 0;
        done = i + 1;
        break;
    }
  }
  if (!done) return 0;

  std::string_view local = s.substr(local_start, local_end - local_start);
  if (local.size() > kMaxLocalPart || (quoted && local.size() == 2)) return 0;  // "" is an empty local part
  Path p;
  p.local = local;
  if (!postmaster) {
    std::string_view domain = s.substr(domain_start, domain_end - domain_start);
    if (literal) {
      if (!valid_literal(domain.substr(1, domain.size() - 2), p.domain)) return 0;
    } else {
      if (!valid_domain(domain, utf8)) return 0;
      p.domain = domain;
      std::transform(p.domain.begin(), p.domain.end(), p.domain.begin(), lower);
    }
  }
  p.utf8 = utf8;
  out = std::move(p);
  return done;
}

// --- parameters ---

// RFC 3461 4: xtext = *( xchar / hexchar ), xchar = '!'..'~' but '+' and
// '=', hexchar = '+' and two upper-case hex digits. With utf8, RFC 6533's
// unitext is allowed too: non-ASCII UTF-8 as is. Appends the decoded text
// to out if it is given.
bool decode_xtext(std::string_view v, bool utf8, std::string* out) {
  for (size_t i = 0; i < v.size(); i++) {
    unsigned char c = v[i];
    if (c == '+') {
      if (i + 2 >= v.size() || !is_hex_upper(v[i + 1]) || !is_hex_upper(v[i + 2])) return false;
      if (out) out->push_back(static_cast<char>(hex_value(v[i + 1]) << 4 | hex_value(v[i + 2])));
      i += 2;
    } else if (c >= '!' && c <= '~' && c != '=') {
      if (out) out->push_back(static_cast<char>(c));
    } else if (size_t n = utf8 ? utf8_non_ascii(v, i) : 0) {
      if (out) out->append(v.substr(i, n));
      i += n - 1;
    } else {
      return false;
    }
  }
  return true;
}

// One "KEYWORD[=value]" of Mail-parameters or Rcpt-parameters.
struct Param {
  std::string_view keyword;
  std::string_view value;
  bool has_value = false;
};

using Result = std::optional<SyntaxError>;

// Calls f on each piece of s between seps (empty pieces included) until
// one returns an error.
template <class F>
Result each_piece(std::string_view s, char sep, F f) {
  for (size_t pos = 0;;) {
    size_t end = std::min(s.find(sep, pos), s.size());
    if (auto err = f(s.substr(pos, end - pos))) return err;
    if (end == s.size()) return {};
    pos = end + 1;
  }
}

template <class P>
struct ParamRow {
  std::string_view keyword;
  Result (*set)(const Param&, P&);
};

// SIZE=1*20DIGIT (RFC 1870 6); RFC 5321's 501 for a bad argument.
Result set_size(const Param& p, MailParams& m) {
  uint64_t n = 0;
  auto [end, ec] = std::from_chars(p.value.data(), p.value.data() + p.value.size(), n);
  bool digits = std::all_of(p.value.begin(), p.value.end(), is_digit);
  if (!p.has_value || p.value.size() > 20 || !digits || ec != std::errc() || end != p.value.data() + p.value.size())
    return SyntaxError{501, "5.5.4 Invalid SIZE parameter"};
  m.size = n;
  return {};
}

Result set_body(const Param& p, MailParams& m) {
  static constexpr struct {
    std::string_view name;
    MailParams::Body body;
  } bodies[] = {{"7BIT", MailParams::seven_bit}, {"8BITMIME", MailParams::eight_bit_mime}, {"BINARYMIME", MailParams::binary_mime}};
  for (auto& b : bodies)
    if (iequals(p.value, b.name)) {
      m.body = b.body;
      return {};
    }
  return param_error("Invalid BODY parameter");
}

Result set_smtputf8(const Param& p, MailParams& m) {
  if (p.has_value) return param_error("SMTPUTF8 takes no value");
  m.smtputf8 = true;
  return {};
}

Result set_ret(const Param& p, MailParams& m) {
  if (!iequals(p.value, "FULL") && !iequals(p.value, "HDRS")) return param_error("Invalid RET parameter");
  m.ret = to_upper(p.value);
  return {};
}

// RFC 3461 4.4: ENVID is xtext of at most 100 characters once decoded.
Result set_envid(const Param& p, MailParams& m) {
  std::string decoded;
  if (!decode_xtext(p.value, false, &decoded) || decoded.empty() || decoded.size() > 100)
    return param_error("Invalid ENVID parameter");
  m.envid = p.value;
  return {};
}

// RFC 4954 5: AUTH=<> or the xtext of a mailbox, kept decoded.
Result set_auth(const Param& p, MailParams& m) {
  if (p.value == "<>") {
    m.auth = "<>";
    return {};
  }
  std::string decoded;
  if (!decode_xtext(p.value, false, &decoded) || decoded.empty() ||
      std::any_of(decoded.begin(), decoded.end(), [](char c) { return static_cast<unsigned char>(c) < 32 || c == 127; }) ||
      !valid_utf8(decoded))
    return param_error("Invalid AUTH parameter");
  m.auth = std::move(decoded);
  return {};
}

// RFC 3461 4.1: NEVER, or a list of SUCCESS, FAILURE and DELAY.
Result set_notify(const Param& p, RcptParams& r) {
  static constexpr std::string_view kinds[] = {"SUCCESS", "FAILURE", "DELAY"};
  auto bad = param_error("Invalid NOTIFY parameter");
  if (iequals(p.value, "NEVER")) {
    r.notify = "NEVER";
    return {};
  }
  if (!p.has_value) return bad;
  unsigned seen = 0;
  auto err = each_piece(p.value, ',', [&](std::string_view item) -> Result {
    auto k = std::find_if(std::begin(kinds), std::end(kinds), [&](std::string_view n) { return iequals(item, n); });
    if (k == std::end(kinds)) return bad;  // NEVER in a list lands here too
    unsigned bit = 1u << (k - std::begin(kinds));
    if (seen & bit) return bad;
    seen |= bit;
    return {};
  });
  if (err) return err;
  r.notify = to_upper(p.value);
  return {};
}

// RFC 3461 4.2: ORCPT=addr-type ";" xtext, at most 500 characters; RFC
// 6533 3 lets the "utf-8" type carry UTF-8 as is.
Result set_orcpt(const Param& p, RcptParams& r) {
  auto bad = param_error("Invalid ORCPT parameter");
  size_t semi = p.value.find(';');
  if (!p.has_value || semi == std::string_view::npos || semi == 0) return bad;
  std::string_view type = p.value.substr(0, semi), addr = p.value.substr(semi + 1);
  if (!std::all_of(type.begin(), type.end(), [](unsigned char c) { return is_alnum(c) || c == '-'; })) return bad;
  std::string decoded;
  if (addr.empty() || !decode_xtext(addr, iequals(type, "utf-8"), &decoded) || decoded.size() > 500) return bad;
  r.orcpt = p.value;
  return {};
}

const ParamRow<MailParams> mail_params[] = {
    {"SIZE", set_size}, {"BODY", set_body}, {"SMTPUTF8", set_smtputf8},
    {"RET", set_ret},   {"ENVID", set_envid}, {"AUTH", set_auth},
};

const ParamRow<RcptParams> rcpt_params[] = {
    {"NOTIFY", set_notify},
    {"ORCPT", set_orcpt},
};

// esmtp-param = esmtp-keyword ["=" esmtp-value]; keyword = (ALPHA / DIGIT)
// *(ALPHA / DIGIT / "-"); value = *(%d33-60 / %d62-126), and UTF-8 by
// RFC 6531.
bool split_param(std::string_view s, Param& p) {
  size_t eq = s.find('=');
  p.keyword = s.substr(0, eq);
  if (p.keyword.empty() || p.keyword[0] == '-') return false;
  if (!std::all_of(p.keyword.begin(), p.keyword.end(), [](unsigned char c) { return is_alnum(c) || c == '-'; }))
    return false;
  if (eq == std::string_view::npos) return true;
  p.has_value = true;
  p.value = s.substr(eq + 1);  // may be empty: each setter says what it takes, so "SIZE=" is a bad SIZE
  for (size_t i = 0; i < p.value.size(); i++) {
    unsigned char c = p.value[i];
    if (c >= 33 && c <= 126 && c != '=') continue;
    size_t n = utf8_non_ascii(p.value, i);
    if (!n) return false;
    i += n - 1;
  }
  return true;
}

// Parameters are separated by one SP each; each keyword is looked up in
// the table and may appear once.
template <class P, size_t N>
Result parse_params(std::string_view s, const ParamRow<P> (&table)[N], P& out) {
  static_assert(N <= 32, "seen is a bit per row");
  uint32_t seen = 0;
  return each_piece(s, ' ', [&](std::string_view piece) -> Result {
    Param p;
    if (!split_param(piece, p)) return param_error("Bad parameter syntax");
    auto row = std::find_if(std::begin(table), std::end(table), [&](auto& r) { return iequals(r.keyword, p.keyword); });
    if (row == std::end(table)) return param_error("Unsupported parameter");
    uint32_t bit = 1u << (row - std::begin(table));
    if (seen & bit) return param_error("Duplicate parameter");
    seen |= bit;
    return row->set(p, out);
  });
}

// "FROM:" / "TO:", one optional SP, the path, then SP and parameters.
template <class P, size_t N>
Result parse_path_and_params(std::string_view arg, std::string_view prefix, PathKind kind, const SyntaxError& bad_path,
                             const ParamRow<P> (&table)[N], Path& path, P& params) {
  if (arg.size() < prefix.size() || !iequals(arg.substr(0, prefix.size()), prefix))
    return SyntaxError{501, "5.5.2 Syntax: " + std::string(kind == PathKind::reverse ? "MAIL" : "RCPT") + " " +
                                std::string(prefix) + "<address>"};
  std::string_view rest = arg.substr(prefix.size());
  if (!rest.empty() && rest[0] == ' ') rest.remove_prefix(1);  // common, though not in RFC 5321
  Path p;
  size_t n = parse_path(rest, kind, p);
  if (n == 0) return bad_path;
  rest.remove_prefix(n);
  P parsed;
  if (!rest.empty()) {
    if (rest[0] != ' ') return bad_path;
    if (auto err = parse_params(rest.substr(1), table, parsed)) return err;
  }
  path = std::move(p);
  params = std::move(parsed);
  return {};
}

// --- verbs ---

struct VerbRow {
  std::string_view name;
  Verb verb;
};

const VerbRow verbs[] = {
    {"HELO", Verb::helo}, {"EHLO", Verb::ehlo}, {"MAIL", Verb::mail}, {"RCPT", Verb::rcpt},
    {"DATA", Verb::data}, {"BDAT", Verb::bdat}, {"RSET", Verb::rset}, {"NOOP", Verb::noop},
    {"QUIT", Verb::quit}, {"VRFY", Verb::vrfy}, {"EXPN", Verb::expn}, {"HELP", Verb::help},
    {"STARTTLS", Verb::starttls}, {"AUTH", Verb::auth},
};

}  // namespace

std::optional<std::string> xtext_decode(std::string_view v) {
  std::string out;
  if (!decode_xtext(v, true, &out)) return std::nullopt;
  return out;
}

Command parse_command(std::string_view line) {
  size_t sp = line.find(' ');
  std::string_view word = line.substr(0, sp);
  Command cmd;
  for (auto& row : verbs)
    if (iequals(word, row.name)) {
      cmd.verb = row.verb;
      break;
    }
  if (sp != std::string_view::npos) cmd.arg = line.substr(sp + 1);
  return cmd;
}

std::optional<SyntaxError> parse_mail(std::string_view arg, Path& path, MailParams& params) {
  return parse_path_and_params(arg, "FROM:", PathKind::reverse, bad_sender(), mail_params, path, params);
}

std::optional<SyntaxError> parse_rcpt(std::string_view arg, Path& path, RcptParams& params) {
  return parse_path_and_params(arg, "TO:", PathKind::forward, bad_recipient(), rcpt_params, path, params);
}

}  // namespace gannet::smtp
