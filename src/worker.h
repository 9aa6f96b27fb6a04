// A worker process: one libuv loop serving every listener of its slot.
#pragma once

#include <uv.h>

#include <memory>
#include <vector>

#include "acceptor.h"
#include "buffer.h"
#include "cycle.h"

namespace gannet {

class Connection;

class Worker {
 public:
  Worker(const Cycle& cycle, int slot, std::vector<int> listen_fds);
  ~Worker();
  // Runs until the worker has stopped; returns the process exit code.
  int run();

  uv_loop_t* loop() { return &loop_; }
  const Cycle& cycle() const { return cycle_; }
  int slot() const { return slot_; }
  BufferPool& buffers() { return buffers_; }
  bool draining() const { return draining_; }
  size_t connections() const { return connections_; }

  // What SIGQUIT (graceful) and SIGTERM (fast) do.
  void shutdown(bool graceful);

  // A connection the acceptor took: its session starts on the socket.
  void adopt(const ListenAddr& addr, int fd);
  void add(Connection* c);
  void remove(Connection* c);  // when a connection is gone

 private:
  static void on_signal(uv_signal_t*, int signum);
  static void on_shutdown_timer(uv_timer_t*);
  void limit_connections();
  void maybe_exit();

  const Cycle& cycle_;
  int slot_;
  uv_loop_t loop_{};
  BufferPool buffers_;
  Acceptor acceptor_;
  std::vector<std::unique_ptr<uv_signal_t>> signals_;
  uv_timer_t shutdown_timer_{};
  Connection* head_ = nullptr;
  size_t connections_ = 0;
  bool draining_ = false;
  bool exiting_ = false;
};

}  // namespace gannet
