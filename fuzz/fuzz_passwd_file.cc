// A passwd-file line as `gannetctl import passwd-file` reads it: any bytes
// are skipped, an error, or an address and a secret taken from the line;
// an argon2id hash written out by export reads back the same.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "passwd_file.h"

using namespace gannet::passwd_file;

namespace {
void check(bool ok) {
  if (!ok) abort();
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string in(reinterpret_cast<const char*>(data), size);
  Line l = parse_line(in);
  switch (l.kind) {
    case Line::skip: check(l.address.empty() && l.secret.empty()); break;
    case Line::bad: check(!l.error.empty()); break;
    case Line::hash:
    case Line::plain:
      check(!l.address.empty() && !l.secret.empty() && in.find(l.address) == 0 && in.find(l.secret) != std::string::npos);
      if (l.kind == Line::hash) {
        Line again = parse_line(format_line(l.address, l.secret));
        check(again.kind == Line::hash && again.address == l.address && again.secret == l.secret);
      }
      break;
  }
  return 0;
}
