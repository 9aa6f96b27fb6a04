// The mail store: the only way to mail. One LMDB environment holds domains,
// users, aliases, mailboxes with their IMAP state, message bodies (stored
// once, reference counted) and, later, the delivery queue.
//
// Reads run in short transactions on the caller's thread. Writes from a
// worker go through group commit: while one transaction commits on libuv's
// thread pool, new writes queue, and all of them go into the next one. A
// caller hears "done" only once its transaction is durable.
#pragma once

#include <uv.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "store/records.h"
#include "store/txn.h"

namespace gannet::store {

class GroupCommit;

class Store {
 public:
  // Opens (creating if needed) the store in DIR. map_size bounds its size.
  static std::unique_ptr<Store> open(const std::string& dir, uint64_t map_size, std::string& err);
  ~Store();

  // A read transaction for the length of f.
  template <class F>
  auto read(F&& f) {
    Txn t(env_, *dbs_, true);
    return f(t);
  }

  using Op = std::function<Status(Txn&)>;
  using Done = std::function<void(Status)>;

  // One transaction now, durable when it returns (gannetctl, tests).
  Status write_now(const Op& op);
  // Queued for the next group commit on this loop; done runs on the loop.
  void write(uv_loop_t* loop, Op op, Done done);
  // The same, after prepare has run on the thread pool outside any
  // transaction: work that needs no store (parsing a message) does not
  // hold LMDB's single writer lock that every worker waits for.
  using Prepare = std::function<void()>;
  void write(uv_loop_t* loop, Prepare prepare, Op op, Done done);
  // How many commits the last group held (for tests and the benchmark).
  size_t last_batch_size() const;

  // Any process's commit changes this: the cheap change feed that lets an
  // IMAP IDLE in one worker see mail another worker stored.
  uint64_t last_commit_id() const;
  // Frees the reader slots of dead processes.
  int reader_check();
  // What `gannetctl store stats` shows of the backend.
  struct Usage {
    uint64_t map_size = 0, map_used = 0, last_txn = 0;
  };
  Usage usage() const;
  // A consistent copy of the whole store into dir (compacted), taken from
  // a read snapshot while writers go on. "" or what went wrong.
  std::string backup(const std::string& dir) const;
  static std::string backend_version();  // "LMDB 0.9.24: (July 24, 2019)"

 private:
  Store() = default;
  friend struct TxnAccess;
  GroupCommit& group(uv_loop_t* loop);
  MDB_env* env() const { return env_; }
  const Dbs& dbs() const { return *dbs_; }
  MDB_env* env_ = nullptr;
  std::unique_ptr<Dbs> dbs_;
  std::unique_ptr<GroupCommit> group_;
};

// Runs ops as one write transaction, each op in a nested transaction of its
// own so a failing op (over quota) does not undo the others. Fills statuses.
// Returns the commit's result.
Status commit_batch(MDB_env* env, const Dbs& dbs, const std::vector<const Store::Op*>& ops, std::vector<Status>& statuses);
// commit_batch in two steps, so a group commit can wait for the writer lock
// first and pick its ops after: begin_batch takes the lock (another
// process may hold it), run_batch runs the ops and commits or aborts parent.
Status begin_batch(MDB_env* env, MDB_txn** parent);
Status run_batch(MDB_env* env, MDB_txn* parent, const Dbs& dbs, const std::vector<const Store::Op*>& ops,
                 std::vector<Status>& statuses);

}  // namespace gannet::store
