// The mail authentication filter's pieces that its files share: the
// server configuration, and the two things it does at end of data.
#pragma once

#include <optional>
#include <utility>

#include "dkim_canon.h"
#include "module.h"

namespace gannet {

extern Module dkim_module;

struct DkimSrvConf : ModuleConf {
  std::optional<bool> sign;
  std::optional<std::pair<dkim::Canon, dkim::Canon>> canon;
  std::optional<uint64_t> expire;  // ms; 0: no x=
  std::optional<bool> verify;
  std::optional<int64_t> max_signatures;  // checked; more are reported as not checked
};

namespace mail {
class MessageBuffer;
}

namespace dkim {
using Digest = std::array<uint8_t, SHA256_DIGEST_LENGTH>;

// The body's hash as canonicalization c (and l=) sees it, read from the
// buffer past the header's end (header_end() of its start); off the loop.
// nullopt if the buffer cannot be read.
std::optional<Digest> hash_body(const mail::MessageBuffer& m, size_t header_end, Canon c, std::optional<uint64_t> limit);

// Inbound mail (no authenticated user): every DKIM-Signature checked, up
// to dkim_max_signatures, and one Authentication-Results field added.
FilterStatus verify_message(PhaseRun& run);
}  // namespace dkim

}  // namespace gannet
