// Walking and checking the part tree of a ParsedMessage.
#include <algorithm>

#include "mail/message_parser.h"

namespace gannet::mail {

namespace {

constexpr uint32_t none = Part::none;

// The n-th child (from 1) of a part, or none.
uint32_t nth_child(const ParsedMessage& m, uint32_t part, uint64_t n) {
  uint64_t k = 1;
  for (uint32_t c = part + 1; c < m.parts[part].end; c = m.parts[c].end, k++)
    if (k == n) return c;
  return none;
}

uint32_t ordinal(const ParsedMessage& m, uint32_t part) {
  uint32_t parent = m.parts[part].parent, k = 1;
  for (uint32_t c = parent + 1; c != part; c = m.parts[c].end) k++;
  return k;
}

// The offsets of one part, and its place among its parent's children.
bool part_ok(const ParsedMessage& m, uint32_t i, uint32_t& roots) {
  const Part& p = m.parts[i];
  if (!(p.header_start <= p.header_end && p.header_end <= p.body_start && p.body_start <= p.body_end &&
        p.body_end <= m.size))
    return false;
  if (p.end <= i || p.end > m.parts.size()) return false;
  bool top = i == 0 || m.parts[p.parent].message();
  if (top != (p.envelope != none) || (top && p.envelope != roots++)) return false;
  if (p.multipart() && p.children == 0) return false;
  if (p.message() && p.children != 1) return false;
  if (p.children > 0 && !p.multipart() && !p.message()) return false;
  // The children: exactly `children` subtrees filling (i, end), in order,
  // each inside this part's body.
  uint64_t floor = p.body_start;
  uint32_t count = 0, c = i + 1;
  for (; c < p.end; c = m.parts[c].end, count++) {
    const Part& ch = m.parts[c];
    if (ch.parent != i || ch.header_start < floor || ch.end > p.end || ch.body_end > p.body_end) return false;
    if (p.message() && ch.header_start != p.body_start) return false;
    floor = ch.body_end;
  }
  return c == p.end && count == p.children;
}

}  // namespace

bool well_formed(const ParsedMessage& m) {
  if (m.parts.empty() || m.parts.size() >= none || m.parts[0].parent != none) return false;
  for (uint32_t i = 1; i < m.parts.size(); i++)
    if (m.parts[i].parent >= i) return false;
  // Subtree ends first, so the walks in part_ok always move forward.
  for (uint32_t i = 0; i < m.parts.size(); i++)
    if (m.parts[i].end <= i || m.parts[i].end > m.parts.size()) return false;
  uint32_t roots = 0;
  for (uint32_t i = 0; i < m.parts.size(); i++)
    if (!part_ok(m, i, roots)) return false;
  return m.parts[0].end == m.parts.size() && roots == m.envelopes.size();
}

std::string section_of(const ParsedMessage& m, uint32_t part) {
  std::vector<uint32_t> numbers;
  for (uint32_t x = part;;) {
    const Part& p = m.parts[x];
    if (p.envelope != none) {  // a message's own part: "1" unless it is a multipart
      if (!p.multipart()) numbers.push_back(1);
      if (x == 0) break;
    } else {
      numbers.push_back(ordinal(m, x));
    }
    x = p.parent;
  }
  std::string out;
  for (auto it = numbers.rbegin(); it != numbers.rend(); ++it) {
    if (!out.empty()) out += '.';
    out += std::to_string(*it);
  }
  return out;
}

uint32_t find_section(const ParsedMessage& m, std::string_view section) {
  if (m.parts.empty() || section.empty()) return none;
  uint32_t in = 0, found = none;  // the part the next number is looked up in
  size_t i = 0;
  for (;;) {
    uint64_t n = 0;
    size_t start = i;
    while (i < section.size() && section[i] >= '0' && section[i] <= '9' && i - start < 10)
      n = n * 10 + (section[i++] - '0');
    if (i == start || n == 0 || in == none) return none;
    const Part& c = m.parts[in];
    if (c.multipart())
      found = nth_child(m, in, n);
    else if (c.envelope != none && n == 1)
      found = in;
    else
      return none;
    if (found == none) return none;
    const Part& f = m.parts[found];
    in = f.message() ? found + 1 : f.multipart() ? found : none;
    if (i == section.size()) return found;
    if (section[i++] != '.') return none;
  }
}

}  // namespace gannet::mail
