// Group commit: a worker's writes share transactions. One batch commits on
// libuv's thread pool at a time; writes that arrive meanwhile wait for the
// next. No timer: an idle store commits a lone write at once, a busy one
// gathers many writes into each fsync.
#pragma once

#include <uv.h>

#include <vector>

#include "store/store.h"

namespace gannet::store {

class GroupCommit {
 public:
  GroupCommit(Store& store, uv_loop_t* loop) : store_(store), loop_(loop) {}
  ~GroupCommit();
  void add(Store::Op op, Store::Done done);
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
  std::vector<Pending> queued_;
  std::vector<Pending> running_;
  std::vector<Status> statuses_;
  uv_work_t req_{};
  bool busy_ = false;
  bool* alive_ = nullptr;  // cleared by the destructor while a batch runs
  size_t last_batch_ = 0;
};

}  // namespace gannet::store
