#include "store/group_commit.h"

#include "store/dbs.h"

namespace gannet::store {

GroupCommit::~GroupCommit() {
  // A batch still on the pool finishes its commit; its callbacks are dropped,
  // and so are writes whose prepare has not come back yet.
  if (alive_) *alive_ = false;
  *prepares_alive_ = false;
}

void GroupCommit::add(Store::Op op, Store::Done done) {
  {
    std::lock_guard lock(queued_mutex_);
    queued_.push_back({std::move(op), std::move(done)});
  }
  if (!busy_) start();
}

namespace {

struct PrepareJob {
  uv_work_t req{};
  Store::Prepare prepare;
  Store::Op op;
  Store::Done done;
  GroupCommit* group;
  std::shared_ptr<bool> alive;
};

}  // namespace

void GroupCommit::add_prepared(Store::Prepare prepare, Store::Op op, Store::Done done) {
  auto* job = new PrepareJob{{}, std::move(prepare), std::move(op), std::move(done), this, prepares_alive_};
  job->req.data = job;
  uv_queue_work(
      loop_, &job->req, [](uv_work_t* req) { static_cast<PrepareJob*>(req->data)->prepare(); },
      [](uv_work_t* req, int) {
        std::unique_ptr<PrepareJob> job(static_cast<PrepareJob*>(req->data));
        if (*job->alive) job->group->add(std::move(job->op), std::move(job->done));
      });
}

void GroupCommit::start() {
  busy_ = true;
  req_.data = this;
  uv_queue_work(loop_, &req_, work, after);
}

void GroupCommit::work(uv_work_t* req) {
  auto* self = static_cast<GroupCommit*>(req->data);
  MDB_txn* parent = nullptr;
  Status began = begin_batch(TxnAccess::env(self->store_), &parent);  // may wait for another worker's commit
  {
    std::lock_guard lock(self->queued_mutex_);
    self->running_.swap(self->queued_);
  }
  if (began != Status::ok) {
    self->statuses_.assign(self->running_.size(), began);
    return;
  }
  std::vector<const Store::Op*> ops;
  for (auto& p : self->running_) ops.push_back(&p.op);
  run_batch(TxnAccess::env(self->store_), parent, TxnAccess::dbs(self->store_), ops, self->statuses_);
}

void GroupCommit::after(uv_work_t* req, int) {
  auto* self = static_cast<GroupCommit*>(req->data);
  auto batch = std::move(self->running_);
  auto statuses = std::move(self->statuses_);
  self->running_.clear();
  self->last_batch_ = batch.size();
  bool alive = true;
  self->alive_ = &alive;
  // Still busy while the callbacks run: a write one of them makes (the next
  // pipelined message, a bounce) joins queued_ and goes in the next batch,
  // instead of starting a batch of its own beside this one.
  for (size_t i = 0; i < batch.size() && alive; i++) batch[i].done(statuses[i]);
  if (!alive) return;
  self->alive_ = nullptr;
  self->busy_ = false;
  bool more;
  {
    std::lock_guard lock(self->queued_mutex_);
    more = !self->queued_.empty();
  }
  if (more) self->start();
}

}  // namespace gannet::store
