#include "store/group_commit.h"

namespace gannet::store {

GroupCommit::~GroupCommit() {
  // A batch still on the pool finishes its commit; its callbacks are dropped.
  if (alive_) *alive_ = false;
}

void GroupCommit::add(Store::Op op, Store::Done done) {
  queued_.push_back({std::move(op), std::move(done)});
  if (!busy_) start();
}

void GroupCommit::start() {
  running_.swap(queued_);
  busy_ = true;
  last_batch_ = running_.size();
  req_.data = this;
  uv_queue_work(loop_, &req_, work, after);
}

void GroupCommit::work(uv_work_t* req) {
  auto* self = static_cast<GroupCommit*>(req->data);
  std::vector<const Store::Op*> ops;
  for (auto& p : self->running_) ops.push_back(&p.op);
  commit_batch(self->store_.env(), self->store_.dbs(), ops, self->statuses_);
}

void GroupCommit::after(uv_work_t* req, int) {
  auto* self = static_cast<GroupCommit*>(req->data);
  auto batch = std::move(self->running_);
  auto statuses = std::move(self->statuses_);
  self->running_.clear();
  bool alive = true;
  self->alive_ = &alive;
  // Still busy while the callbacks run: a write one of them makes (the next
  // pipelined message, a bounce) joins queued_ and goes in the next batch,
  // instead of starting a batch of its own beside this one.
  for (size_t i = 0; i < batch.size() && alive; i++) batch[i].done(statuses[i]);
  if (!alive) return;
  self->alive_ = nullptr;
  self->busy_ = false;
  if (!self->queued_.empty()) self->start();
}

}  // namespace gannet::store
