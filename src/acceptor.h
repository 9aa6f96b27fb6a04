// Takes new connections off a worker's listening sockets. It accepts with
// accept4() itself (not libuv's uv_listen, which closes what it cannot take
// without a word): a bounded batch per wakeup, the worker's connection limit,
// and, when the process is out of file descriptors, a reserve descriptor so
// that a waiting client is told "busy" by its protocol instead of hanging;
// each reason is logged at most once a second.
#pragma once

#include <uv.h>

#include <memory>
#include <vector>

#include "cycle.h"

namespace gannet {

class Worker;

class Acceptor {
 public:
  Acceptor(Worker& w, const Cycle& cycle) : worker_(w), cycle_(cycle) {}
  ~Acceptor();
  Acceptor(const Acceptor&) = delete;
  Acceptor& operator=(const Acceptor&) = delete;

  // Polls the worker's copies of the listening sockets, one per listen.
  void start(const std::vector<int>& fds);
  // Connections beyond max are refused; `why` names the bound in the log.
  void set_limit(size_t max, const char* why);
  // Stops accepting for good and closes this worker's copies of the
  // sockets (the master keeps its own, so nothing queued is lost).
  void stop();

 private:
  struct Listener {
    uv_poll_t poll;
    int fd;
    Acceptor* acceptor;
    const ListenAddr* addr;
  };
  static void on_readable(uv_poll_t*, int status, int events);
  static void on_pause_end(uv_timer_t*);
  void accept_batch(Listener& l);
  void out_of_fds(Listener& l, int err);
  void refuse(const Listener& l, int fd, const char* why);
  void pause_polling();
  void report(const char* why);

  Worker& worker_;
  const Cycle& cycle_;
  std::vector<std::unique_ptr<Listener>> listeners_;
  uv_timer_t pause_timer_{};
  int reserve_fd_ = -1;  // given up to take one connection when out of descriptors
  size_t max_ = 0;
  const char* limit_why_ = "";
  // Refusals since the last log line, and when that was.
  size_t refused_ = 0;
  uint64_t last_report_ms_ = 0;
  bool reported_ = false;
  bool stopped_ = false;
};

}  // namespace gannet
