// The IMAP command parser on arbitrary input, as a whole command in wire
// form with literals inline; FETCH items and SEARCH keys from what it parsed, matched
// against a fixed message; FETCH section specs; the literal announcement
// reader; sequence sets; RFC 2047 and transfer decoding; and the response
// writer's quoting, which must read back as the very string it was given.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "../modules/imap/imap_fetch_items.h"
#include "../modules/imap/imap_parse.h"
#include "../modules/imap/imap_search.h"
#include "../modules/imap/imap_structure.h"
#include "mail/decode.h"

using namespace gannet::imap;

namespace {

void check(bool ok) {
  if (!ok) abort();
}

size_t count(const std::vector<Arg>& args, size_t depth) {
  check(depth <= kMaxDepth);
  size_t n = args.size();
  for (auto& a : args) {
    if (a.kind == Arg::Kind::list) n += count(a.items, depth + 1);
    else check(a.items.empty());
  }
  return n;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string in(reinterpret_cast<const char*>(data), size);

  Command c;
  if (!parse_command(in, c)) {
    check(!c.tag.empty() && !c.name.empty());
    check(count(c.args, 0) <= kMaxArgs);
    std::vector<FetchItem> items;
    if (c.args.size() >= 2 && parse_fetch_items(c.args[1], items))
      for (auto& it : items) check(!it.name.empty() && (!it.partial || it.length > 0));
    SearchKey key;
    if (!parse_search(c.args, 0, key)) {
      static const std::string msg = "Subject: =?UTF-8?Q?x?=\r\nDate: 1 Jan 2026 00:00 +0000\r\n\r\nbody\r\n";
      static const auto parsed = gannet::mail::parse_message(msg);
      gannet::store::Message record;
      record.uid = 3;
      SearchMessage m{record, 1, 2, 3, [] { return std::string_view(msg); },
                      []() -> const gannet::mail::ParsedMessage& { return parsed; }, {}};
      matches(key, m);
    }
  }

  if (auto section = parse_section(in)) {
    check(parse_section(section->name()).has_value());
    static const std::string msg = "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\r\nx\r\n--b--\r\n";
    static const auto parsed = gannet::mail::parse_message(msg);
    section_octets(msg, parsed, *section);
  }

  gannet::mail::decode_words(in);
  gannet::mail::decode_transfer(in, "base64");
  gannet::mail::decode_transfer(in, "quoted-printable");

  bool bad = false;
  auto lit = literal_at_end(in, &bad);
  check(!(lit && bad));
  if (lit) check(in.back() == '}');

  if (auto set = parse_sequence_set(in, 1000)) {
    check(!set->empty() && set->size() <= 1000);
    for (auto r : *set) in_set(*set, r.lo ? r.lo : 1, 7);
  }

  // Whatever the octets, astring's form parses back to them.
  Command back;
  check(!parse_command("t X " + astring(in), back));
  check(back.args.size() == 1 && back.args[0].text == in);
  check(back.args[0].kind == Arg::Kind::string);
  return 0;
}
