// Tells a worker's sessions that the store changed, whoever committed
// (another worker, gannetctl). LMDB's last transaction id sits in the shared
// meta page, so reading it costs no syscall and no lock: the feed polls it
// on a timer, and only while someone listens (IMAP IDLE, NOTIFY).
#pragma once

#include <uv.h>

#include <cstdint>
#include <functional>
#include <list>

#include "store/store.h"

namespace gannet::store {

class ChangeFeed {
 public:
  using Listener = std::function<void(uint64_t commit_id)>;
  using Token = std::list<Listener>::iterator;
  struct Subscription;

  ChangeFeed(Store& store, uv_loop_t* loop, uint64_t interval_ms = 50);
  ~ChangeFeed();
  ChangeFeed(const ChangeFeed&) = delete;
  ChangeFeed& operator=(const ChangeFeed&) = delete;

  // Calls l after each poll that sees a new commit; keep the token to stay
  // subscribed, pass it to unsubscribe to stop.
  std::list<Listener>::iterator subscribe(Listener l);
  void unsubscribe(std::list<Listener>::iterator token);
  size_t listeners() const { return listeners_.size(); }

 private:
  static void on_tick(uv_timer_t*);
  Store& store_;
  uv_timer_t* timer_;  // heap: closed asynchronously after the feed is gone
  uint64_t interval_;
  uint64_t seen_ = 0;
  std::list<Listener> listeners_;
};

}  // namespace gannet::store
