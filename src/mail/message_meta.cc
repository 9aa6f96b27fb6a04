// ParsedMessage <-> store::Body::meta. Format 1, after its format byte:
//   size, part count, then per part in pre-order: child count, flags,
//   the four offsets as differences (each from the one before, the first
//   from the previous part's body_start: they never decrease along the
//   array, so the numbers stay small), lines, the Content-* strings and
//   lists; then one record per envelope: a bitmask of the fields present,
//   their values, and the address lists.
// Only the tree shape is stored; parent and end are rebuilt on decoding.
#include <vector>

#include "mail/message_parser.h"
#include "store/codec.h"

namespace gannet::mail {

namespace {

using store::Decoder;
using store::Encoder;

constexpr uint64_t format = 1;
constexpr uint64_t flag_top = 1, flag_opaque = 2;

// The string fields of a part, in their encoded order.
constexpr std::string Part::*strings[] = {&Part::type, &Part::subtype, &Part::id, &Part::description,
                                          &Part::encoding, &Part::md5, &Part::disposition, &Part::location};
constexpr std::vector<Param> Part::*param_lists[] = {&Part::params, &Part::disposition_params};

// A list's count bounds the loop, not an allocation: each entry takes at
// least a byte, so a lying count runs out of input and fails.
template <class T, class F>
bool get_list(Decoder& d, std::vector<T>& v, F get_one) {
  uint64_t n;
  if (!d.u64(n)) return false;
  v.clear();
  for (uint64_t i = 0; i < n; i++)
    if (!get_one(v.emplace_back())) return false;
  return true;
}

void put_part(Encoder& e, const Part& p, uint64_t& prev) {
  e.u64(p.children).u64((p.envelope != Part::none ? flag_top : 0) | (p.opaque ? flag_opaque : 0));
  e.u64(p.header_start - prev).u64(p.header_end - p.header_start).u64(p.body_start - p.header_end);
  e.u64(p.body_end - p.body_start).u64(p.lines);
  prev = p.body_start;
  for (auto s : strings) e.str(p.*s);
  for (auto l : param_lists) {
    e.u64((p.*l).size());
    for (const Param& x : p.*l) e.str(x.name).str(x.value);
  }
  e.u64(p.language.size());
  for (const std::string& s : p.language) e.str(s);
}

// Offsets are checked by well_formed; here only that the sums cannot wrap.
bool add(uint64_t a, uint64_t b, uint64_t& out) {
  out = a + b;
  return out >= a;
}

bool get_part(Decoder& d, Part& p, uint64_t& prev, uint32_t& envelopes) {
  uint64_t flags, d1, d2, d3, d4;
  if (!(d.num(p.children) && d.u64(flags) && d.u64(d1) && d.u64(d2) && d.u64(d3) && d.u64(d4) && d.num(p.lines)))
    return false;
  if (flags & ~(flag_top | flag_opaque)) return false;
  if (!(add(prev, d1, p.header_start) && add(p.header_start, d2, p.header_end) &&
        add(p.header_end, d3, p.body_start) && add(p.body_start, d4, p.body_end)))
    return false;
  prev = p.body_start;
  p.envelope = flags & flag_top ? envelopes++ : Part::none;
  p.opaque = flags & flag_opaque;
  for (auto s : strings)
    if (!d.str(p.*s)) return false;
  for (auto l : param_lists)
    if (!get_list(d, p.*l, [&](Param& x) { return d.str(x.name) && d.str(x.value); })) return false;
  return get_list(d, p.language, [&](std::string& s) { return d.str(s); });
}

void put_envelope(Encoder& e, const Envelope& env) {
  uint64_t present = 0;
  for (size_t f = 0; f < envelope_fields.size(); f++)
    if (env.*envelope_fields[f].raw) present |= uint64_t(1) << f;
  e.u64(present);
  for (const EnvelopeField& f : envelope_fields) {
    if (!(env.*f.raw)) continue;
    e.str(*(env.*f.raw));
    if (!f.list) continue;
    e.u64((env.*f.list).size());
    for (const Address& a : env.*f.list)
      e.u64(static_cast<uint64_t>(a.kind)).str(a.name).str(a.adl).str(a.mailbox).str(a.host);
  }
}

bool get_envelope(Decoder& d, Envelope& env) {
  uint64_t present;
  if (!d.u64(present) || present >> envelope_fields.size()) return false;
  for (size_t f = 0; f < envelope_fields.size(); f++) {
    if (!(present >> f & 1)) continue;
    const EnvelopeField& field = envelope_fields[f];
    if (!d.str((env.*field.raw).emplace())) return false;
    if (!field.list) continue;
    auto get_address = [&](Address& a) {
      uint64_t kind;
      if (!d.u64(kind) || kind > static_cast<uint64_t>(Address::Kind::group_end)) return false;
      a.kind = static_cast<Address::Kind>(kind);
      return d.str(a.name) && d.str(a.adl) && d.str(a.mailbox) && d.str(a.host);
    };
    if (!get_list(d, env.*field.list, get_address)) return false;
  }
  return true;
}

// parent and end from the child counts; false unless the counts describe
// exactly one tree over all the parts.
bool rebuild_tree(std::vector<Part>& parts) {
  struct Pending {
    uint32_t part, left;
  };
  std::vector<Pending> stack;
  for (uint32_t i = 0; i < parts.size(); i++) {
    while (!stack.empty() && stack.back().left == 0) {
      parts[stack.back().part].end = i;
      stack.pop_back();
    }
    if (i > 0 && stack.empty()) return false;  // a second tree
    parts[i].parent = i == 0 ? Part::none : stack.back().part;
    if (i > 0) stack.back().left--;
    stack.push_back({i, parts[i].children});
  }
  for (; !stack.empty(); stack.pop_back()) {
    if (stack.back().left != 0) return false;  // children that never came
    parts[stack.back().part].end = static_cast<uint32_t>(parts.size());
  }
  return true;
}

}  // namespace

std::string encode_meta(const ParsedMessage& m) {
  Encoder e;
  e.u64(format).u64(m.size).u64(m.parts.size());
  uint64_t prev = 0;
  for (const Part& p : m.parts) put_part(e, p, prev);
  for (const Envelope& env : m.envelopes) put_envelope(e, env);
  return e.take();
}

bool decode_meta(std::string_view in, ParsedMessage& m) {
  m = {};
  Decoder d(in);
  uint64_t version, nparts;
  if (!d.u64(version) || version != format || !d.u64(m.size) || !d.u64(nparts)) return false;
  if (nparts == 0 || nparts >= Part::none) return false;
  uint64_t prev = 0;
  uint32_t envelopes = 0;
  for (uint64_t i = 0; i < nparts; i++)  // grown as read: a lying count runs out of input
    if (!get_part(d, m.parts.emplace_back(), prev, envelopes)) return false;
  m.envelopes.resize(envelopes);
  for (Envelope& env : m.envelopes)
    if (!get_envelope(d, env)) return false;
  return d.done() && rebuild_tree(m.parts) && well_formed(m);
}

}  // namespace gannet::mail
