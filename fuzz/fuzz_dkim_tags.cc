// DKIM's tag lists, DKIM-Signature values and key records on arbitrary
// input: a parse never crashes, a tag list has no name twice, a parsed
// signature has what verifying needs (d=, s=, From in h=, a 32-octet bh=).
#include <cstdint>
#include <cstdlib>
#include <set>
#include <string>

#include "../modules/dkim/dkim_tags.h"

using namespace gannet::dkim;

namespace {
void check(bool ok) {
  if (!ok) abort();
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  if (auto tags = parse_tag_list(in)) {
    std::set<std::string> names;
    for (auto& [name, value] : *tags) check(names.insert(name).second && !name.empty());
  }
  auto sig = parse_signature(in);
  if (auto* s = std::get_if<Signature>(&sig)) {
    check(!s->domain.empty() && !s->selector.empty() && s->body_hash.size() == 32 && !s->signature.empty());
    bool from = false;
    for (auto& h : s->headers) from |= h == "from";
    check(from);
  } else {
    check(!std::get<std::string>(sig).empty());
  }
  auto key = parse_key_record(in);
  if (auto* e = std::get_if<std::string>(&key)) check(!e->empty());
  return 0;
}
