// A worker process: one libuv loop serving every listener of its slot.
#pragma once

#include <uv.h>

#include <memory>
#include <vector>

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

  void add(Connection* c);
  void remove(Connection* c);  // when a connection is gone

 private:
  struct Listener {
    uv_tcp_t tcp;
    Worker* worker;
    const ListenAddr* addr;
  };
  static void on_connection(uv_stream_t*, int status);
  static void on_signal(uv_signal_t*, int signum);
  static void on_shutdown_timer(uv_timer_t*);
  void accept(Listener& l);
  void stop_accepting();
  void maybe_exit();

  const Cycle& cycle_;
  int slot_;
  uv_loop_t loop_{};
  BufferPool buffers_;
  std::vector<std::unique_ptr<Listener>> listeners_;
  std::vector<std::unique_ptr<uv_signal_t>> signals_;
  uv_timer_t shutdown_timer_{};
  Connection* head_ = nullptr;
  size_t connections_ = 0;
  size_t max_connections_ = 0;
  bool draining_ = false;
  bool exiting_ = false;
};

}  // namespace gannet
