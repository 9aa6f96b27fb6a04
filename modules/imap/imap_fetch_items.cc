#include "imap_fetch_items.h"

namespace gannet::imap {

namespace {

// "<n.m>" after a section: 32-bit numbers, m not 0.
bool parse_partial(std::string_view p, FetchItem& it) {
  if (p.empty()) return true;
  if (p.size() < 5 || p.front() != '<' || p.back() != '>') return false;
  p = p.substr(1, p.size() - 2);
  auto dot = p.find('.');
  if (dot == std::string_view::npos) return false;
  auto offset = parse_digits(p.substr(0, dot), UINT32_MAX), length = parse_digits(p.substr(dot + 1), UINT32_MAX);
  if (!offset || !length || *length == 0) return false;
  it.offset = *offset;
  it.length = *length;
  it.partial = true;
  return true;
}

// The RFC822 forms are BODY sections by other names.
FetchItem rfc822(std::string name, Section::Kind kind, bool peek) {
  FetchItem it = FetchItem::of(FetchItem::body_section, std::move(name));
  it.section.kind = kind;
  it.peek = peek;
  return it;
}

// BODY[...] and BINARY[...] with their PEEK forms; BINARY takes a part
// number or nothing, never HEADER or TEXT (RFC 3516 4.1).
struct Bracketed {
  std::string_view prefix;  // upper-case, up to the '['
  FetchItem::Kind kind;
  bool peek;
  std::string_view answer;  // the name the answer gives: a PEEK is not said
};
constexpr Bracketed kBracketed[] = {
    {"BODY.PEEK[", FetchItem::body_section, true, "BODY["},
    {"BODY[", FetchItem::body_section, false, "BODY["},
    {"BINARY.PEEK[", FetchItem::binary, true, "BINARY["},
    {"BINARY.SIZE[", FetchItem::binary_size, true, "BINARY.SIZE["},
    {"BINARY[", FetchItem::binary, false, "BINARY["},
};

bool bracketed(const std::string& upper, std::string_view text, std::vector<FetchItem>& out) {
  for (const Bracketed& b : kBracketed) {
    if (!upper.starts_with(b.prefix)) continue;
    std::string_view rest = text.substr(b.prefix.size());
    auto close = rest.rfind(']');  // a partial after it has none
    if (close == std::string_view::npos) return false;
    FetchItem it = FetchItem::of(b.kind, "");
    it.peek = b.peek;
    auto section = parse_section(rest.substr(0, close));
    if (!section || (b.kind != FetchItem::body_section && section->kind != Section::all)) return false;
    if (!parse_partial(rest.substr(close + 1), it) || (b.kind == FetchItem::binary_size && it.partial)) return false;
    it.section = std::move(*section);
    it.name = std::string(b.answer) + it.section.name() + "]";
    if (it.partial) it.name += "<" + std::to_string(it.offset) + ">";
    out.push_back(std::move(it));
    return true;
  }
  return false;
}

bool parse_item(const Arg& a, std::vector<FetchItem>& out) {
  if (a.kind != Arg::Kind::atom) return false;
  std::string u = to_upper(a.text);
  static const std::pair<std::string_view, FetchItem::Kind> simple[] = {
      {"FLAGS", FetchItem::flags},         {"UID", FetchItem::uid},
      {"RFC822.SIZE", FetchItem::size},    {"INTERNALDATE", FetchItem::internaldate},
      {"ENVELOPE", FetchItem::envelope},   {"BODY", FetchItem::body},
      {"BODYSTRUCTURE", FetchItem::bodystructure}, {"MODSEQ", FetchItem::modseq}};
  for (auto& [name, kind] : simple)
    if (u == name) return out.push_back(FetchItem::of(kind, std::string(name))), true;
  if (u == "RFC822") return out.push_back(rfc822("RFC822", Section::all, false)), true;
  if (u == "RFC822.HEADER") return out.push_back(rfc822("RFC822.HEADER", Section::header, true)), true;
  if (u == "RFC822.TEXT") return out.push_back(rfc822("RFC822.TEXT", Section::text, false)), true;
  // The macros (RFC 3501 6.4.5).
  static const std::pair<std::string_view, std::vector<const char*>> macros[] = {
      {"FAST", {"FLAGS", "INTERNALDATE", "RFC822.SIZE"}},
      {"ALL", {"FLAGS", "INTERNALDATE", "RFC822.SIZE", "ENVELOPE"}},
      {"FULL", {"FLAGS", "INTERNALDATE", "RFC822.SIZE", "ENVELOPE", "BODY"}}};
  for (auto& [name, items] : macros) {
    if (u != name) continue;
    for (const char* n : items) parse_item(Arg{Arg::Kind::atom, n, {}}, out);
    return true;
  }
  return bracketed(u, a.text, out);
}

}  // namespace

bool parse_fetch_items(const Arg& what, std::vector<FetchItem>& out) {
  if (what.kind != Arg::Kind::list) return parse_item(what, out);
  for (auto& a : what.items)
    if (!parse_item(a, out)) return false;
  return !out.empty();
}

}  // namespace gannet::imap
