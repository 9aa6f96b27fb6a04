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

namespace dkim {
// Inbound mail (no authenticated user): every DKIM-Signature checked, up
// to dkim_max_signatures, and one Authentication-Results field added.
FilterStatus verify_message(PhaseRun& run);
}  // namespace dkim

}  // namespace gannet
