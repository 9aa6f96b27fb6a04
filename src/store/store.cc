#include "store/store.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>

#include "store/dbs.h"
#include "store/group_commit.h"

namespace gannet::store {

std::unique_ptr<Store> Store::open(const std::string& dir, uint64_t map_size, std::string& err) {
  if (mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
    err = "mkdir() \"" + dir + "\" failed (" + strerror(errno) + ")";
    return nullptr;
  }
  std::unique_ptr<Store> s(new Store);
  s->dbs_ = std::make_unique<Dbs>();
  int rc = mdb_env_create(&s->env_);
  if (rc == 0) rc = mdb_env_set_mapsize(s->env_, map_size);
  if (rc == 0) rc = mdb_env_set_maxdbs(s->env_, 16);
  if (rc == 0) rc = mdb_env_set_maxreaders(s->env_, 1024);
  // NOTLS: readers belong to transactions, not threads (a worker's loop
  // thread reads while the pool commits). NOMETASYNC: a commit flushes its
  // data under the writer lock and its meta page after, outside it (see
  // run_batch), so the next writer's flush overlaps ours.
  if (rc == 0) rc = mdb_env_open(s->env_, dir.c_str(), MDB_NOTLS | MDB_NOMETASYNC, 0600);
  if (rc != 0) {
    err = "cannot open the store \"" + dir + "\": " + mdb_strerror(rc);
    return nullptr;
  }
  MDB_txn* txn;
  if ((rc = mdb_txn_begin(s->env_, nullptr, 0, &txn)) != 0) {
    err = std::string("cannot open the store: ") + mdb_strerror(rc);
    return nullptr;
  }
  struct { MDB_dbi* dbi; const char* name; unsigned flags; } dbs[] = {
      {&s->dbs_->meta, "meta", 0},           {&s->dbs_->domains, "domains", 0},
      {&s->dbs_->users, "users", 0},         {&s->dbs_->user_ids, "user_ids", 0},
      {&s->dbs_->aliases, "aliases", MDB_DUPSORT},
      {&s->dbs_->mailboxes, "mailboxes", 0}, {&s->dbs_->mailbox_names, "mailbox_names", 0},
      {&s->dbs_->messages, "messages", 0},   {&s->dbs_->bodies, "bodies", 0},
      {&s->dbs_->queue, "queue", 0},         {&s->dbs_->queue_time, "queue_time", 0},
      {&s->dbs_->expunged, "expunged", 0},      {&s->dbs_->changes, "changes", 0},
      {&s->dbs_->modseqs, "modseqs", 0},
  };
  // Until 2026-12-02 a body's bytes had a table of their own, "body_data".
  if (MDB_dbi old; mdb_dbi_open(txn, "body_data", 0, &old) == 0) {
    mdb_txn_abort(txn);
    err = "the store \"" + dir + "\" has an older layout (a body_data table): move its mail out with the "
          "gannetctl that made it (export maildir) and into a new store (import maildir)";
    return nullptr;
  }
  for (auto& d : dbs) {
    if ((rc = mdb_dbi_open(txn, d.name, d.flags | MDB_CREATE, d.dbi)) != 0) {
      mdb_txn_abort(txn);
      err = std::string("cannot open the store's \"") + d.name + "\" table: " + mdb_strerror(rc);
      return nullptr;
    }
  }
  if ((rc = mdb_txn_commit(txn)) != 0) {
    err = std::string("cannot open the store: ") + mdb_strerror(rc);
    return nullptr;
  }
  return s;
}

Store::~Store() {
  group_.reset();
  if (env_) mdb_env_close(env_);
}

namespace {

Status txn_status(int rc) { return rc == MDB_MAP_FULL ? Status::map_full : Status::io; }


// Every op straight in the parent: the common case, when none fails. A
// nested transaction costs LMDB a dirty-page list of its own and a merge.
bool run_flat(MDB_txn* parent, const Dbs& dbs, const std::vector<const Store::Op*>& ops,
              std::vector<Status>& statuses) {
  Txn t(parent, dbs);
  for (size_t i = 0; i < ops.size(); i++)
    if ((statuses[i] = (*ops[i])(t)) != Status::ok) return false;
  return true;
}

// Each op in a nested transaction of its own, so a failing one is undone
// alone and the others stay in parent.
void run_nested(MDB_env* env, MDB_txn* parent, const Dbs& dbs, const std::vector<const Store::Op*>& ops,
                std::vector<Status>& statuses) {
  for (size_t i = 0; i < ops.size(); i++) {
    MDB_txn* child;
    if (int rc = mdb_txn_begin(env, parent, 0, &child); rc != 0) {
      statuses[i] = txn_status(rc);
      continue;
    }
    Txn t(child, dbs);
    statuses[i] = (*ops[i])(t);
    if (statuses[i] != Status::ok) mdb_txn_abort(child);
    else if (int rc = mdb_txn_commit(child); rc != 0) statuses[i] = txn_status(rc);
  }
}

}  // namespace

Status begin_batch(MDB_env* env, MDB_txn** parent) {
  int rc = mdb_txn_begin(env, nullptr, 0, parent);
  return rc == 0 ? Status::ok : txn_status(rc);
}

Status run_batch(MDB_env* env, MDB_txn* parent, const Dbs& dbs, const std::vector<const Store::Op*>& ops,
                 std::vector<Status>& statuses) {
  statuses.assign(ops.size(), Status::io);
  if (!run_flat(parent, dbs, ops, statuses)) {
    mdb_txn_abort(parent);
    if (ops.size() == 1) return Status::ok;  // nothing to commit: the op's status says why
    // Undo them all and run them again one nested transaction each (ops
    // only touch the transaction, so running them again is safe).
    statuses.assign(ops.size(), Status::io);
    if (Status s = begin_batch(env, &parent); s != Status::ok) {
      statuses.assign(ops.size(), s);
      return s;
    }
    run_nested(env, parent, dbs, ops, statuses);
  }
  // The data pages' flush, which the whole batch shares; the meta page is
  // written but not flushed, and the writer lock is free again. Durable
  // once a later flush of the file has run: ours below, or another
  // writer's. Until then a crash keeps the previous commit, whole.
  int rc = mdb_txn_commit(parent);
  if (rc == 0 && (rc = mdb_env_sync(env, 1)) == 0) return Status::ok;
  Status failed = txn_status(rc);
  for (auto& s : statuses)
    if (s == Status::ok) s = failed;
  return failed;
}

Status commit_batch(MDB_env* env, const Dbs& dbs, const std::vector<const Store::Op*>& ops, std::vector<Status>& statuses) {
  MDB_txn* parent;
  if (Status s = begin_batch(env, &parent); s != Status::ok) {
    statuses.assign(ops.size(), s);
    return s;
  }
  return run_batch(env, parent, dbs, ops, statuses);
}

Status Store::write_now(const Op& op) {
  std::vector<Status> st;
  Status s = commit_batch(env_, *dbs_, {&op}, st);
  return s == Status::ok ? st[0] : s;
}

GroupCommit& Store::group(uv_loop_t* loop) {
  if (!group_) group_ = std::make_unique<GroupCommit>(*this, loop);
  return *group_;
}

void Store::write(uv_loop_t* loop, Op op, Done done) { group(loop).add(std::move(op), std::move(done)); }

void Store::write(uv_loop_t* loop, Prepare prepare, Op op, Done done) {
  group(loop).add_prepared(std::move(prepare), std::move(op), std::move(done));
}

size_t Store::last_batch_size() const { return group_ ? group_->last_batch_size() : 0; }

uint64_t Store::last_commit_id() const {
  MDB_envinfo info;
  mdb_env_info(env_, &info);
  return info.me_last_txnid;
}

Store::Usage Store::usage() const {
  MDB_envinfo info;
  MDB_stat ms;
  mdb_env_info(env_, &info);
  mdb_env_stat(env_, &ms);
  return {info.me_mapsize, (info.me_last_pgno + 1) * ms.ms_psize, info.me_last_txnid};
}

std::string Store::backup(const std::string& dir) const {
  int rc = mdb_env_copy2(env_, dir.c_str(), MDB_CP_COMPACT);
  return rc == 0 ? std::string() : mdb_strerror(rc);
}

std::string Store::backend_version() { return mdb_version(nullptr, nullptr, nullptr); }

int Store::reader_check() {
  int dead = 0;
  mdb_reader_check(env_, &dead);
  return dead;
}

}  // namespace gannet::store
