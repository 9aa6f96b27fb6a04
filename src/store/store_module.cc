#include "store/store_module.h"

#include <unistd.h>

#include "core_module.h"
#include "store/change_feed.h"
#include "log.h"
#include "worker.h"

namespace gannet {

namespace {

std::unique_ptr<store::Store> g_store;
std::unique_ptr<store::ChangeFeed> g_feed;  // made when a session first listens
uv_loop_t* g_loop = nullptr;
std::string g_store_dir;

const Directive store_directives[] = {
    {"store_path", CTX_MAIN | TAKE1, Slot::main, set_path<&StoreConf::path>},
    {"store_map_size", CTX_MAIN | TAKE1, Slot::main, set_size<&StoreConf::map_size>},
};

std::unique_ptr<ModuleConf> create_conf() { return std::make_unique<StoreConf>(); }

std::string init_conf(Cycle& cycle, ModuleConf& c) {
  auto& sc = static_cast<StoreConf&>(c);
  merge(sc.path, {}, cycle.prefix + "/data");
  merge(sc.map_size, {}, 8ull << 30);
  if (*sc.map_size < (1u << 20)) return "\"store_map_size\" must be at least 1m";
  return {};
}

// The master makes sure the store opens before any worker needs it, and
// hands its files to the worker user.
std::string init_master(Cycle& cycle) {
  std::string err;
  auto s = open_store(cycle, err);
  if (!s) return err;
  auto& core = cycle.main_conf<CoreConf>(core_module);
  if (geteuid() == 0 && core.uid >= 0) {
    const std::string& dir = *cycle.main_conf<StoreConf>(store_module).path;
    for (const char* f : {"", "/data.mdb", "/lock.mdb"})
      if (chown((dir + f).c_str(), core.uid, core.gid) != 0) return "chown() \"" + dir + f + "\" failed";
  }
  return {};
}

std::string init_worker(Worker& w) {
  std::string err;
  g_store_dir = *w.cycle().main_conf<StoreConf>(store_module).path;
  g_store = open_store(w.cycle(), err);
  g_loop = w.loop();
  return g_store ? std::string() : err;
}

void exit_worker(Worker&) {
  g_feed.reset();
  g_store.reset();
}

// A worker killed mid-transaction leaves its reader slot taken: free it.
void worker_reaped(Cycle& cycle) {
  std::string err;
  if (auto s = open_store(cycle, err)) {
    if (int dead = s->reader_check()) GLOG(Level::notice, "store: freed %d stale reader slots", dead);
  }
}

}  // namespace

std::unique_ptr<store::Store> open_store(const Cycle& cycle, std::string& err) {
  auto& sc = cycle.main_conf<StoreConf>(store_module);
  return store::Store::open(*sc.path, *sc.map_size, err);
}

store::Store* worker_store() { return g_store.get(); }

store::ChangeFeed& worker_change_feed() {
  if (!g_feed) g_feed = std::make_unique<store::ChangeFeed>(*g_store, g_loop);
  return *g_feed;
}
const std::string& worker_store_dir() { return g_store_dir; }

Module store_module{.name = "store", .directives = store_directives,
                    .create_main_conf = create_conf, .init_main_conf = init_conf,
                    .init_master = init_master, .worker_reaped = worker_reaped,
                    .init_worker = init_worker, .exit_worker = exit_worker};

}  // namespace gannet
