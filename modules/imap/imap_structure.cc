#include "imap_structure.h"

#include <algorithm>

#include "imap_parse.h"
#include "mail/header.h"

namespace gannet::imap {

namespace {

using mail::Part;

std::string nstr(const std::string& s) { return s.empty() ? "NIL" : astring(s); }

std::string addresses(const std::vector<mail::Address>& list) {
  if (list.empty()) return "NIL";
  std::string out = "(";
  for (auto& a : list) {
    switch (a.kind) {
      case mail::Address::Kind::group_start: out += "(NIL NIL " + astring(a.mailbox) + " NIL)"; break;
      case mail::Address::Kind::group_end: out += "(NIL NIL NIL NIL)"; break;
      case mail::Address::Kind::mailbox:
        // A NIL host means a group marker, so a mailbox without a domain
        // gets an empty one.
        out += "(" + nstr(a.name) + " " + nstr(a.adl) + " " + astring(a.mailbox) + " " + astring(a.host) + ")";
        break;
    }
  }
  return out + ")";
}

// RFC 2231 continuations of a plain value ("name*0", "name*1") are one
// parameter to a client: joined, in order, where the first stood, as
// Dovecot gives them. Extended ones ("name*", "name*0*") stay as written.
std::vector<mail::Param> joined(const std::vector<mail::Param>& ps) {
  std::vector<mail::Param> out;
  for (const auto& p : ps) {
    auto star = p.name.rfind('*');
    bool segment = star != std::string::npos && star + 1 < p.name.size() &&
                   p.name.find_first_not_of("0123456789", star + 1) == std::string::npos;
    if (!segment) {
      out.push_back(p);
      continue;
    }
    std::string base = p.name.substr(0, star);
    if (std::any_of(out.begin(), out.end(), [&](auto& q) { return q.name == base; })) continue;  // joined already
    std::string value;
    for (unsigned n = 0;; n++) {  // segments in number order, wherever they stand
      auto seg = mail::find_param(ps, base + "*" + std::to_string(n));
      if (!seg) break;
      value += seg->value;
    }
    if (value.empty()) out.push_back(p);  // no "*0": kept as it came
    else out.push_back({base, value});
  }
  return out;
}

std::string params(const std::vector<mail::Param>& raw) {
  if (raw.empty()) return "NIL";
  auto ps = joined(raw);
  std::string out = "(";
  for (size_t i = 0; i < ps.size(); i++) out += (i ? " " : "") + astring(ps[i].name) + " " + astring(ps[i].value);
  return out + ")";
}

// A text part without a charset is us-ascii (RFC 2045 5.2): IMAP says so,
// after the parameters it has.
std::string content_params(const Part& p) {
  if (p.type != "text" || mail::find_param(p.params, "charset")) return params(p.params);
  std::vector<mail::Param> with = p.params;
  with.push_back({"charset", "us-ascii"});
  return params(with);
}

// body-fld-dsp SP body-fld-lang SP body-fld-loc
std::string disposition_language_location(const Part& p) {
  std::string out = p.disposition.empty() ? "NIL" : "(" + astring(p.disposition) + " " + params(p.disposition_params) + ")";
  if (p.language.empty()) {
    out += " NIL";
  } else if (p.language.size() == 1) {
    out += " " + astring(p.language[0]);
  } else {
    out += " (";
    for (size_t i = 0; i < p.language.size(); i++) out += (i ? " " : "") + astring(p.language[i]);
    out += ")";
  }
  return out + " " + nstr(p.location);
}

bool in_list(std::string_view name, const std::vector<std::string>& list) {
  for (auto& f : list)
    if (f.size() == name.size() && std::equal(f.begin(), f.end(), name.begin(), [](char a, char b) {
          return a == toupper(static_cast<unsigned char>(b));
        }))
      return true;
  return false;
}

// The header fields named (or all but those), each as written, then the
// blank line that ends a header.
std::string header_fields(std::string_view header, const std::vector<std::string>& names, bool keep_named) {
  std::string out;
  size_t pos = 0;
  while (pos < header.size()) {
    size_t start = pos;
    mail::Line l = mail::line_at(header, pos);
    pos = l.next;
    while (pos < header.size() && (header[pos] == ' ' || header[pos] == '\t')) pos = mail::line_at(header, pos).next;
    std::string_view field = header.substr(start, pos - start), name, value;
    if (!mail::split_field(field, name, value)) continue;
    while (!name.empty() && (name.back() == ' ' || name.back() == '\t')) name.remove_suffix(1);
    if (in_list(name, names) != keep_named) continue;
    out.append(field);
    if (!field.ends_with('\n')) out += "\r\n";
  }
  return out + "\r\n";
}

std::string_view span(std::string_view msg, uint64_t from, uint64_t to) {
  if (from > msg.size() || to < from) return {};
  return msg.substr(from, std::min<uint64_t>(to, msg.size()) - from);
}

}  // namespace

std::string envelope(const mail::Envelope& e) {
  auto opt = [](const std::optional<std::string>& s) { return s ? astring(*s) : std::string("NIL"); };
  // Sender and Reply-To default to From (RFC 3501 7.4.2).
  const auto& sender = e.sender_list.empty() ? e.from_list : e.sender_list;
  const auto& reply_to = e.reply_to_list.empty() ? e.from_list : e.reply_to_list;
  return "(" + opt(e.date) + " " + opt(e.subject) + " " + addresses(e.from_list) + " " + addresses(sender) + " " +
         addresses(reply_to) + " " + addresses(e.to_list) + " " + addresses(e.cc_list) + " " +
         addresses(e.bcc_list) + " " + opt(e.in_reply_to) + " " + opt(e.message_id) + ")";
}

std::string body_structure(const mail::ParsedMessage& m, uint32_t i, bool ext) {
  const Part& p = m.parts[i];
  if (p.multipart()) {
    std::string out = "(";
    for (uint32_t c = i + 1; c < p.end; c = m.parts[c].end) out += body_structure(m, c, ext);
    out += " " + astring(p.subtype);
    if (ext) out += " " + params(p.params) + " " + disposition_language_location(p);
    return out + ")";
  }
  std::string out = "(" + astring(p.type) + " " + astring(p.subtype) + " " + content_params(p) + " " + nstr(p.id) +
                    " " + nstr(p.description) + " " + astring(p.encoding) + " " + std::to_string(p.size());
  if (p.message()) {
    const Part& inner = m.parts[i + 1];
    out += " " + envelope(m.envelopes[inner.envelope]) + " " + body_structure(m, i + 1, ext) + " " +
           std::to_string(p.lines);
  } else if (p.type == "text") {
    out += " " + std::to_string(p.lines);
  }
  if (ext) out += " " + nstr(p.md5) + " " + disposition_language_location(p);
  return out + ")";
}

std::string Section::name() const {
  static const char* const names[] = {"", "HEADER", "TEXT", "HEADER.FIELDS", "HEADER.FIELDS.NOT", "MIME"};
  std::string out = part;
  if (kind != all) out += (part.empty() ? "" : ".") + std::string(names[kind]);
  if (kind == fields || kind == fields_not) {
    out += " (";
    for (size_t i = 0; i < field_names.size(); i++) out += (i ? " " : "") + field_names[i];
    out += ")";
  }
  return out;
}

std::optional<Section> parse_section(std::string_view spec) {
  Section s;
  // section-part: nz-number *("." nz-number)
  size_t i = 0;
  while (i < spec.size() && spec[i] >= '1' && spec[i] <= '9') {
    size_t start = i;
    while (i < spec.size() && spec[i] >= '0' && spec[i] <= '9') i++;
    if (i - start > 9) return std::nullopt;
    if (i == spec.size()) break;
    if (spec[i] != '.') return std::nullopt;
    if (i + 1 < spec.size() && spec[i + 1] >= '1' && spec[i + 1] <= '9') {
      i++;
      continue;
    }
    s.part.assign(spec.substr(0, i));
    i++;  // the '.' before the section-text
    break;
  }
  if (i == spec.size() && s.part.empty()) {
    s.part.assign(spec);
    return s;  // "" or a part number alone
  }
  std::string rest = to_upper(spec.substr(i));
  if (rest == "HEADER") s.kind = Section::header;
  else if (rest == "TEXT") s.kind = Section::text;
  else if (rest == "MIME" && !s.part.empty()) s.kind = Section::mime;
  else if (rest.starts_with("HEADER.FIELDS.NOT (")) s.kind = Section::fields_not;
  else if (rest.starts_with("HEADER.FIELDS (")) s.kind = Section::fields;
  else return std::nullopt;
  if (s.kind == Section::fields || s.kind == Section::fields_not) {
    std::string_view list = std::string_view(rest).substr(rest.find('(') + 1);
    if (list.empty() || list.back() != ')') return std::nullopt;
    list.remove_suffix(1);
    while (!list.empty()) {
      size_t sp = list.find(' ');
      std::string_view name = list.substr(0, sp);
      if (name.size() >= 2 && name.front() == '"' && name.back() == '"') name = name.substr(1, name.size() - 2);
      if (name.empty()) return std::nullopt;
      for (unsigned char c : name)
        if (c <= ' ' || c == ':' || c >= 0x7f) return std::nullopt;  // RFC 5322 ftext
      s.field_names.emplace_back(name);
      if (sp == std::string_view::npos) break;
      list.remove_prefix(sp + 1);
    }
    if (s.field_names.empty()) return std::nullopt;
  }
  return s;
}

namespace {

// The part a section's HEADER, TEXT or fields are of: the top message, or
// the message inside a message/rfc822 part; none for another part.
std::optional<uint32_t> section_part(const mail::ParsedMessage& m, const Section& s, uint32_t& top) {
  if (m.parts.empty()) return std::nullopt;
  uint32_t part = 0;
  if (!s.part.empty() && (part = mail::find_section(m, s.part)) == Part::none) return std::nullopt;
  top = part;
  if (!s.part.empty() && s.kind != Section::all && s.kind != Section::mime) {
    if (!m.parts[part].message()) return std::nullopt;
    top = part + 1;
  }
  return part;
}

}  // namespace

std::optional<std::pair<uint64_t, uint64_t>> section_range(uint64_t size, const mail::ParsedMessage& m,
                                                          const Section& s) {
  uint32_t top = 0;
  auto part = section_part(m, s, top);
  if (!part) return std::nullopt;
  const Part& p = m.parts[*part];
  const Part& t = m.parts[top];
  auto clamp = [size](uint64_t a, uint64_t b) {
    a = std::min(a, size);
    return std::make_pair(a, std::max(a, std::min(b, size)));
  };
  switch (s.kind) {
    case Section::all: return s.part.empty() ? std::make_pair(uint64_t{0}, size) : clamp(p.body_start, p.body_end);
    case Section::mime: return clamp(p.header_start, p.body_start);
    case Section::header: return clamp(t.header_start, t.body_start);
    case Section::text: return clamp(t.body_start, t.body_end);
    default: return std::make_pair(uint64_t{0}, uint64_t{0});
  }
}

std::optional<std::string> section_octets(std::string_view msg, const mail::ParsedMessage& m, const Section& s) {
  uint32_t top = 0;
  if (!section_part(m, s, top)) return std::nullopt;
  if (s.kind == Section::fields || s.kind == Section::fields_not) {
    const Part& t = m.parts[top];
    return header_fields(span(msg, t.header_start, t.header_end), s.field_names, s.kind == Section::fields);
  }
  auto r = section_range(msg.size(), m, s);
  return std::string(msg.substr(r->first, r->second - r->first));
}

}  // namespace gannet::imap
