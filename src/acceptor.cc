#include "acceptor.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "log.h"
#include "module.h"
#include "worker.h"

namespace gannet {

namespace {

// Connections taken per wakeup: the loop's other work waits at most this
// many accepts, and with SO_REUSEPORT the kernel has already spread them.
constexpr int kAcceptBatch = 64;
// Out of descriptors with no reserve left: look again after this long.
constexpr uint64_t kPauseMs = 100;

int open_reserve() { return open("/dev/null", O_RDONLY | O_CLOEXEC); }

}  // namespace

void Acceptor::start(const std::vector<int>& fds) {
  uv_loop_t* loop = worker_.loop();
  for (size_t i = 0; i < cycle_.listens.size(); i++) {
    auto l = std::make_unique<Listener>();
    l->fd = fds[i];
    l->acceptor = this;
    l->addr = &cycle_.listens[i];
    l->poll.data = l.get();
    if (uv_poll_init(loop, &l->poll, l->fd) != 0 || uv_poll_start(&l->poll, UV_READABLE, on_readable) != 0)
      GLOG(Level::alert, "worker %d cannot listen on %s", worker_.slot(), l->addr->text.c_str());
    listeners_.push_back(std::move(l));
  }
  uv_timer_init(loop, &pause_timer_);
  pause_timer_.data = this;
  uv_unref(reinterpret_cast<uv_handle_t*>(&pause_timer_));
  reserve_fd_ = open_reserve();
}

Acceptor::~Acceptor() {
  if (reserve_fd_ >= 0) close(reserve_fd_);
}

void Acceptor::set_limit(size_t max, const char* why) {
  max_ = max;
  limit_why_ = why;
}

void Acceptor::stop() {
  if (stopped_) return;
  stopped_ = true;
  for (auto& l : listeners_) {
    uv_close(reinterpret_cast<uv_handle_t*>(&l->poll), nullptr);  // takes the fd out of epoll at once
    close(l->fd);
  }
  uv_close(reinterpret_cast<uv_handle_t*>(&pause_timer_), nullptr);
}

void Acceptor::on_readable(uv_poll_t* h, int status, int) {
  auto* l = static_cast<Listener*>(h->data);
  if (status < 0) {
    GLOG(Level::error, "polling %s failed: %s", l->addr->text.c_str(), uv_strerror(status));
    return;
  }
  l->acceptor->accept_batch(*l);
}

void Acceptor::accept_batch(Listener& l) {
  for (int i = 0; i < kAcceptBatch && !stopped_; i++) {
    int fd = accept4(l.fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      if (errno == EMFILE || errno == ENFILE) return out_of_fds(l, errno);
      if (errno != EAGAIN && errno != EWOULDBLOCK)
        GLOG(Level::error, "accept() on %s failed: %s", l.addr->text.c_str(), strerror(errno));
      return;
    }
    if (worker_.connections() >= max_) refuse(l, fd, limit_why_);
    else worker_.adopt(*l.addr, fd);
  }
}

// nginx stops accepting for a while; that leaves clients waiting with no
// word. Giving up the reserve descriptor frees exactly one slot: the client
// is told it is refused, and the reserve is taken back.
void Acceptor::out_of_fds(Listener& l, int err) {
  const char* why = err == EMFILE ? "the process is out of file descriptors (EMFILE)"
                                  : "the system is out of file descriptors (ENFILE)";
  if (reserve_fd_ >= 0) {
    close(reserve_fd_);
    int fd = accept4(l.fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd >= 0) refuse(l, fd, why);
    reserve_fd_ = open_reserve();
    if (reserve_fd_ >= 0) return;  // the socket is still readable: the next turn refuses the next one
  }
  report(why);
  pause_polling();  // no reserve: something else holds it; polling now would spin
}

void Acceptor::refuse(const Listener& l, int fd, const char* why) {
  const ServerConf& srv = *cycle_.servers[l.addr->server];
  // A TLS port cannot be told in plaintext; the close says it.
  if (!l.addr->ssl && srv.protocol->busy_reply) {
    std::string line = srv.protocol->busy_reply(srv);
    (void)!send(fd, line.data(), line.size(), MSG_DONTWAIT | MSG_NOSIGNAL);  // a new socket's buffer is empty
  }
  close(fd);
  refused_++;
  report(why);
}

void Acceptor::report(const char* why) {
  uint64_t now = uv_now(worker_.loop());
  if (reported_ && now - last_report_ms_ < 1000) return;
  GLOG(Level::alert, "worker %d refused %zu connection(s) in the last second with %zu open: %s", worker_.slot(),
       refused_, worker_.connections(), why);
  reported_ = true;
  last_report_ms_ = now;
  refused_ = 0;
}

void Acceptor::pause_polling() {
  for (auto& l : listeners_) uv_poll_stop(&l->poll);
  uv_timer_start(&pause_timer_, on_pause_end, kPauseMs, 0);
}

void Acceptor::on_pause_end(uv_timer_t* t) {
  auto* a = static_cast<Acceptor*>(t->data);
  if (a->stopped_) return;
  if (a->reserve_fd_ < 0) a->reserve_fd_ = open_reserve();
  for (auto& l : a->listeners_) uv_poll_start(&l->poll, UV_READABLE, on_readable);
}

}  // namespace gannet
