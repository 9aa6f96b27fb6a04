// A session's one-shot timer: made on first use, closed with the session,
// so an idle session pays a pointer for it. What SMTP's greeting delay and
// every protocol's delayed answer to a failed login wait on.
#pragma once

#include <uv.h>

#include <cstdint>

namespace gannet {

class SessionTimer {
 public:
  explicit SessionTimer(uv_loop_t* loop) : loop_(loop) {}
  ~SessionTimer();  // a callback still pending never runs
  SessionTimer(const SessionTimer&) = delete;
  SessionTimer& operator=(const SessionTimer&) = delete;

  // Calls cb once after ms, with the timer's data set to `data`.
  void start(uint64_t ms, void* data, uv_timer_cb cb);

 private:
  uv_loop_t* loop_;
  uv_timer_t* timer_ = nullptr;
};

}  // namespace gannet
