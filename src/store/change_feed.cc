#include "store/change_feed.h"

namespace gannet::store {

ChangeFeed::ChangeFeed(Store& store, uv_loop_t* loop, uint64_t interval_ms)
    : store_(store), timer_(new uv_timer_t), interval_(interval_ms) {
  uv_timer_init(loop, timer_);
  timer_->data = this;
}

ChangeFeed::~ChangeFeed() {
  uv_close(reinterpret_cast<uv_handle_t*>(timer_), [](uv_handle_t* h) { delete reinterpret_cast<uv_timer_t*>(h); });
}

std::list<ChangeFeed::Listener>::iterator ChangeFeed::subscribe(Listener l) {
  if (listeners_.empty()) {
    seen_ = store_.last_commit_id();
    uv_timer_start(timer_, on_tick, interval_, interval_);
  }
  listeners_.push_back(std::move(l));
  return std::prev(listeners_.end());
}

void ChangeFeed::unsubscribe(std::list<Listener>::iterator token) {
  listeners_.erase(token);
  if (listeners_.empty()) uv_timer_stop(timer_);
}

void ChangeFeed::on_tick(uv_timer_t* t) {
  auto* self = static_cast<ChangeFeed*>(t->data);
  uint64_t now = self->store_.last_commit_id();
  if (now == self->seen_) return;
  self->seen_ = now;
  // A listener may unsubscribe itself while we walk the list.
  for (auto it = self->listeners_.begin(); it != self->listeners_.end();) {
    auto next = std::next(it);
    (*it)(now);
    it = next;
  }
}

}  // namespace gannet::store
