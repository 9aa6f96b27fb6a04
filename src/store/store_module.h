// The store as a core module: its directives, and the worker's handle.
#pragma once

#include <optional>
#include <string>

#include "cycle.h"
#include "store/store.h"

namespace gannet::store {
class ChangeFeed;
}

namespace gannet {

struct StoreConf : ModuleConf {
  std::optional<std::string> path;
  std::optional<uint64_t> map_size;
};

extern Module store_module;

// The store this worker opened at start; null in the master.
store::Store* worker_store();
// Commits by any process, polled while some session listens (IMAP IDLE).
store::ChangeFeed& worker_change_feed();
// Its directory: where a worker spools messages too big to hold in memory.
const std::string& worker_store_dir();

// Opens the store a cycle names (gannetctl, the master's checks).
std::unique_ptr<store::Store> open_store(const Cycle& cycle, std::string& err);

}  // namespace gannet
