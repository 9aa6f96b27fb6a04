// Group commit: a worker's writes share transactions. One batch commits on
// libuv's thread pool at a time; writes that arrive meanwhile wait for the
// next. No timer: an idle store commits a lone write at once, a busy one
// gathers many writes into each fsync.
#pragma once

#include <uv.h>

#include <memory>
#include <mutex>
#include <vector>

#include "store/store.h"

namespace gannet::store {

class GroupCommit {
 public:
  GroupCommit(Store& store, uv_loop_t* loop) : store_(store), loop_(loop) {}
  ~GroupCommit();
  void add(Store::Op op, Store::Done done);
  // prepare runs on the pool first; then op is added as by add().
  void add_prepared(Store::Prepare prepare, Store::Op op, Store::Done done);
  size_t last_batch_size() const { return last_batch_; }

 private:
  struct Pending {
    Store::Op op;
    Store::Done done;
  };
  void start();
  static void work(uv_work_t*);
  static void after(uv_work_t*, int status);

  Store& store_;
  uv_loop_t* loop_;
  // queued_ is shared with the pool thread: the batch is taken only once
  // the writer lock is held, so writes that arrive while another worker
  // commits still join it.
  std::mutex queued_mutex_;
  std::vector<Pending> queued_;
  std::vector<Pending> running_;  // the pool's while busy_, then the loop's
  std::vector<Status> statuses_;
  uv_work_t req_{};
  bool busy_ = false;
  bool* alive_ = nullptr;  // cleared by the destructor while a batch runs
  std::shared_ptr<bool> prepares_alive_ = std::make_shared<bool>(true);
  size_t last_batch_ = 0;
};

}  // namespace gannet::store
