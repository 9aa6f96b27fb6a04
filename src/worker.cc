// The worker's event loop: accept, hand connections to sessions, and stop
// gracefully (drain) or fast when the master says so.
#include "worker.h"

#include <dirent.h>
#include <malloc.h>
#include <sys/resource.h>

#include <csignal>
#include <cstdio>

#include "connection.h"
#include "core_module.h"
#include "log.h"

namespace gannet {

namespace {

constexpr int kMmapThreshold = 256 << 10;

size_t open_fd_count() {
  size_t n = 0;
  if (DIR* d = opendir("/proc/self/fd")) {
    while (readdir(d)) n++;
    closedir(d);
    n = n > 3 ? n - 3 : 0;  // ".", ".." and the directory's own descriptor
  }
  return n;
}

}  // namespace

Worker::Worker(const Cycle& cycle, int slot, std::vector<int> listen_fds)
    : cycle_(cycle), slot_(slot), buffers_(16u << 10), acceptor_(*this, cycle) {
  // A block this big or bigger (a message's pieces, LMDB's dirty pages of a
  // body) is its own mapping, returned to the kernel when freed. A fixed
  // threshold: glibc's default rises to the largest block freed (up to
  // 32 MiB), after which every big message stays resident in the heap.
  mallopt(M_MMAP_THRESHOLD, kMmapThreshold);
  uv_loop_init(&loop_);
  LogFile::attach_loop(&loop_);
  acceptor_.start(listen_fds);
  limit_connections();
  for (int signum : {SIGQUIT, SIGTERM, SIGINT, SIGUSR1, SIGHUP}) {
    auto s = std::make_unique<uv_signal_t>();
    uv_signal_init(&loop_, s.get());
    s->data = this;
    uv_signal_start(s.get(), on_signal, signum);
    signals_.push_back(std::move(s));
  }
  uv_timer_init(&loop_, &shutdown_timer_);
  shutdown_timer_.data = this;
  uv_unref(reinterpret_cast<uv_handle_t*>(&shutdown_timer_));
}

Worker::~Worker() {
  LogFile::attach_loop(nullptr);
  uv_loop_close(&loop_);
}

int Worker::run() {
  for (const Module* m : cycle_.modules) {
    if (!m->init_worker) continue;
    std::string err = m->init_worker(*this);
    if (!err.empty()) {
      GLOG(Level::emerg, "module %.*s: %s", static_cast<int>(m->name.size()), m->name.data(), err.c_str());
      return 2;
    }
  }
  limit_connections();  // again: the modules' descriptors are open now
  GLOG(Level::notice, "worker %d started", slot_);
  uv_run(&loop_, UV_RUN_DEFAULT);
  // In reverse: a module goes before what it stands on (the store, DNS).
  for (auto m = cycle_.modules.rbegin(); m != cycle_.modules.rend(); ++m)
    if ((*m)->exit_worker) (*m)->exit_worker(*this);
  GLOG(Level::notice, "worker %d exiting", slot_);
  return 0;
}

void Worker::adopt(const ListenAddr& addr, int fd) {
  auto* c = new Connection(*this, *cycle_.servers[addr.server], addr.ssl);
  c->start(fd);  // the connection owns itself from here
}

// The connections a worker can hold: worker_connections, or fewer when the
// open file limit leaves no descriptor for more (each takes one, and the
// store, logs and temp files need some).
void Worker::limit_connections() {
  static char why[160];
  size_t max = *cycle_.main_conf<EventsConf>(events_module).worker_connections;
  snprintf(why, sizeof why, "worker_connections (%zu) reached", max);
  rlimit rl{};
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY) {
    size_t open_now = open_fd_count();
    size_t room = rl.rlim_cur > open_now + kReservedFds ? rl.rlim_cur - open_now - kReservedFds : 0;
    if (room < max) {
      max = room;
      snprintf(why, sizeof why, "the open file limit (%llu) allows no more; raise worker_rlimit_nofile",
               static_cast<unsigned long long>(rl.rlim_cur));
    }
  }
  acceptor_.set_limit(max, why);
}

void Worker::add(Connection* c) {
  c->next = head_;
  if (head_) head_->prev = c;
  head_ = c;
  connections_++;
}

void Worker::remove(Connection* c) {
  if (c->prev) c->prev->next = c->next;
  else head_ = c->next;
  if (c->next) c->next->prev = c->prev;
  connections_--;
  maybe_exit();
}

void Worker::on_signal(uv_signal_t* s, int signum) {
  auto* w = static_cast<Worker*>(s->data);
  switch (signum) {
    case SIGQUIT: w->shutdown(true); break;
    case SIGTERM:
    case SIGINT: w->shutdown(false); break;
    case SIGUSR1:
      for (auto& f : w->cycle_.log_files) {
        std::string err;
        if (!f->open(err)) GLOG(Level::alert, "%s", err.c_str());
      }
      break;
    default: break;  // SIGHUP is the master's
  }
}

void Worker::shutdown(bool graceful) {
  acceptor_.stop();
  bool was_draining = draining_;
  draining_ = true;
  if (graceful && !was_draining) {
    GLOG(Level::notice, "worker %d draining %zu connections", slot_, connections_);
    uv_timer_start(&shutdown_timer_, on_shutdown_timer, *cycle_.main_conf<CoreConf>(core_module).worker_shutdown_timeout, 0);
    uv_ref(reinterpret_cast<uv_handle_t*>(&shutdown_timer_));
    for (Connection* c = head_; c;) {
      Connection* next = c->next;  // drain() may unlink c only asynchronously, but be safe
      c->drain();
      c = next;
    }
  } else if (!graceful) {
    for (Connection* c = head_; c; c = c->next) c->abort("shutdown");
  }
  maybe_exit();
}

void Worker::on_shutdown_timer(uv_timer_t* t) {
  auto* w = static_cast<Worker*>(t->data);
  GLOG(Level::notice, "worker %d: worker_shutdown_timeout, closing %zu connections", w->slot_, w->connections_);
  for (Connection* c = w->head_; c; c = c->next) c->abort("shutdown timeout");
}

void Worker::maybe_exit() {
  if (!draining_ || connections_ > 0 || exiting_) return;
  exiting_ = true;
  for (auto& s : signals_) uv_close(reinterpret_cast<uv_handle_t*>(s.get()), nullptr);
  uv_close(reinterpret_cast<uv_handle_t*>(&shutdown_timer_), nullptr);
}

}  // namespace gannet
