// Verifies the store's invariants; what `gannetctl store check` runs.
#pragma once

#include <string>
#include <vector>

#include "store/txn.h"

namespace gannet::store {

struct Stats {
  size_t domains = 0, users = 0, aliases = 0, mailboxes = 0, messages = 0, bodies = 0, queued = 0;
  uint64_t body_bytes = 0;
};

// One line per broken invariant; empty when the store is sound.
std::vector<std::string> check(Txn& t, Stats* stats = nullptr);

}  // namespace gannet::store
