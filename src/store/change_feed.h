// Tells a worker's sessions which mailboxes changed, whoever committed
// (another worker, SMTP, gannetctl). LMDB's last transaction id sits in the
// shared meta page, so looking at it costs no syscall and no lock: the feed
// polls it on a timer, only while someone listens (IMAP IDLE), and only
// after a commit reads the store's change log to learn which mailboxes it
// touched. A commit that touched none (a queue lease) wakes nobody.
#pragma once

#include <uv.h>

#include <cstdint>
#include <functional>
#include <list>

#include "store/store.h"

namespace gannet::store {

class ChangeFeed {
 public:
  using Listener = std::function<void()>;
  struct Watch {
    uint32_t mailbox_id;
    Listener listener;
  };
  using Token = std::list<Watch>::iterator;

  ChangeFeed(Store& store, uv_loop_t* loop, uint64_t interval_ms = 50);
  ~ChangeFeed();
  ChangeFeed(const ChangeFeed&) = delete;
  ChangeFeed& operator=(const ChangeFeed&) = delete;

  // Calls l after each poll that finds the mailbox changed; keep the token
  // to stay subscribed, pass it to unsubscribe to stop.
  Token subscribe(uint32_t mailbox_id, Listener l);
  void unsubscribe(Token token);
  size_t listeners() const { return watches_.size(); }

 private:
  static void on_tick(uv_timer_t*);
  void tell(const std::vector<uint32_t>& changed, bool all);
  Store& store_;
  uv_timer_t* timer_;  // heap: closed asynchronously after the feed is gone
  uint64_t interval_;
  uint64_t seen_commit_ = 0;
  uint64_t seen_change_ = 0;  // the change log's number last read
  std::list<Watch> watches_;
};

}  // namespace gannet::store
