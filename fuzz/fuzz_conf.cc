// The config language on arbitrary text: lexer, parser, every directive
// setter, then the merges and server checks of load_cycle.
//
// include, load_module and ssl_certificate open what the text names. The
// prefix is an empty directory and inputs that could name a path outside it
// are skipped: any '/', and "stderr" (kept as is by resolve(), so dlopen
// would search the library path for it). Every other path stays inside that
// directory, or is its parent, which cannot be read as a file.
#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <iterator>
#include <string>

#include "cycle.h"

namespace {

char g_prefix[] = "/tmp/gannet-fuzz-XXXXXX";

bool may_escape_prefix(const std::string& text) {
  if (text.find('/') != std::string::npos) return true;
  // With backslashes dropped, a word spelled with escapes ("std\err")
  // becomes a plain substring.
  std::string plain;
  std::copy_if(text.begin(), text.end(), std::back_inserter(plain), [](char c) { return c != '\\'; });
  return plain.find("stderr") != std::string::npos;
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  if (!mkdtemp(g_prefix)) abort();
  atexit([] { rmdir(g_prefix); });
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  if (may_escape_prefix(text)) return -1;  // and keep it out of the corpus
  try {
    gannet::load_cycle_from_string("fuzz.conf", std::move(text), g_prefix);
  } catch (const gannet::ConfError&) {
    // The expected way to refuse a config; anything else escapes and crashes.
  }
  return 0;
}
