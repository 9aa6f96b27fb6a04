#include "store/change_feed.h"

#include <algorithm>

namespace gannet::store {

ChangeFeed::ChangeFeed(Store& store, uv_loop_t* loop, uint64_t interval_ms)
    : store_(store), timer_(new uv_timer_t), interval_(interval_ms) {
  uv_timer_init(loop, timer_);
  timer_->data = this;
}

ChangeFeed::~ChangeFeed() {
  uv_close(reinterpret_cast<uv_handle_t*>(timer_), [](uv_handle_t* h) { delete reinterpret_cast<uv_timer_t*>(h); });
}

ChangeFeed::Token ChangeFeed::subscribe(uint32_t mailbox_id, Listener l) {
  if (watches_.empty()) {
    // From now on: what committed before is the subscriber's to have read.
    seen_commit_ = store_.last_commit_id();
    std::vector<uint32_t> ignored;
    store_.read([&](Txn& t) { return t.changed_mailboxes(seen_change_, ignored); });
    uv_timer_start(timer_, on_tick, interval_, interval_);
  }
  watches_.push_back({mailbox_id, std::move(l)});
  return std::prev(watches_.end());
}

void ChangeFeed::unsubscribe(Token token) {
  watches_.erase(token);
  if (watches_.empty()) uv_timer_stop(timer_);
}

void ChangeFeed::on_tick(uv_timer_t* t) {
  auto* self = static_cast<ChangeFeed*>(t->data);
  uint64_t now = self->store_.last_commit_id();
  if (now == self->seen_commit_) return;
  self->seen_commit_ = now;
  std::vector<uint32_t> changed;
  bool complete = self->store_.read([&](Txn& txn) { return txn.changed_mailboxes(self->seen_change_, changed); });
  self->tell(changed, !complete);
}

void ChangeFeed::tell(const std::vector<uint32_t>& changed, bool all) {
  // A listener may unsubscribe itself while we walk the list.
  for (auto it = watches_.begin(); it != watches_.end();) {
    auto next = std::next(it);
    if (all || std::binary_search(changed.begin(), changed.end(), it->mailbox_id)) it->listener();
    it = next;
  }
}

}  // namespace gannet::store
