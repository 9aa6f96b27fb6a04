#include "session_timer.h"

namespace gannet {

SessionTimer::~SessionTimer() {
  if (timer_) uv_close(reinterpret_cast<uv_handle_t*>(timer_), [](uv_handle_t* h) { delete reinterpret_cast<uv_timer_t*>(h); });
}

void SessionTimer::start(uint64_t ms, void* data, uv_timer_cb cb) {
  if (!timer_) {
    timer_ = new uv_timer_t;
    uv_timer_init(loop_, timer_);
  }
  timer_->data = data;
  uv_timer_start(timer_, cb, ms, 0);
}

}  // namespace gannet
