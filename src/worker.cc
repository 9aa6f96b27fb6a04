// The worker's event loop: accept, hand connections to sessions, and stop
// gracefully (drain) or fast when the master says so.
#include "worker.h"

#include <csignal>

#include "connection.h"
#include "core_module.h"
#include "log.h"

namespace gannet {

Worker::Worker(const Cycle& cycle, int slot, std::vector<int> listen_fds)
    : cycle_(cycle), slot_(slot), buffers_(16u << 10) {
  uv_loop_init(&loop_);
  LogFile::attach_loop(&loop_);
  max_connections_ = *cycle.main_conf<EventsConf>(events_module).worker_connections;
  for (size_t i = 0; i < cycle.listens.size(); i++) {
    auto l = std::make_unique<Listener>();
    l->worker = this;
    l->addr = &cycle.listens[i];
    uv_tcp_init(&loop_, &l->tcp);
    l->tcp.data = l.get();
    if (uv_tcp_open(&l->tcp, listen_fds[i]) != 0 ||
        uv_listen(reinterpret_cast<uv_stream_t*>(&l->tcp), 511, on_connection) != 0) {
      GLOG(Level::alert, "worker %d cannot listen on %s", slot, l->addr->text.c_str());
    }
    listeners_.push_back(std::move(l));
  }
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
  GLOG(Level::notice, "worker %d started", slot_);
  uv_run(&loop_, UV_RUN_DEFAULT);
  for (const Module* m : cycle_.modules)
    if (m->exit_worker) m->exit_worker(*this);
  GLOG(Level::notice, "worker %d exiting", slot_);
  return 0;
}

void Worker::on_connection(uv_stream_t* s, int status) {
  auto* l = static_cast<Listener*>(s->data);
  if (status < 0) {
    GLOG(Level::error, "accept on %s failed: %s", l->addr->text.c_str(), uv_strerror(status));
    return;
  }
  l->worker->accept(*l);
}

void Worker::accept(Listener& l) {
  if (connections_ >= max_connections_) {
    // Take it off the queue and close it at once: no session, no greeting.
    GLOG(Level::alert, "%zu worker_connections are not enough", max_connections_);
    auto* t = new uv_tcp_t;
    uv_tcp_init(&loop_, t);
    uv_accept(reinterpret_cast<uv_stream_t*>(&l.tcp), reinterpret_cast<uv_stream_t*>(t));
    uv_close(reinterpret_cast<uv_handle_t*>(t), [](uv_handle_t* h) { delete reinterpret_cast<uv_tcp_t*>(h); });
    return;
  }
  auto* c = new Connection(*this, *cycle_.servers[l.addr->server], l.addr->ssl);
  c->start(reinterpret_cast<uv_stream_t*>(&l.tcp));  // the connection owns itself from here
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

void Worker::stop_accepting() {
  for (auto& l : listeners_)
    if (!uv_is_closing(reinterpret_cast<uv_handle_t*>(&l->tcp))) uv_close(reinterpret_cast<uv_handle_t*>(&l->tcp), nullptr);
}

void Worker::shutdown(bool graceful) {
  stop_accepting();
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
