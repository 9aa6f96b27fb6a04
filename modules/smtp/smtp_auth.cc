// AUTH (RFC 4954) for submission: the exchange itself is the core's
// (auth/login.h); this file frames it in 334 lines and SMTP replies. A
// failure answers only after a delay.
#include "auth/login.h"
#include "log.h"
#include "smtp_session.h"
#include "worker.h"

namespace gannet::smtp {

void SmtpSession::cmd_auth(std::string_view arg) {
  if (*conf_.role != Role::submission) return reply("503 5.5.1 Error: authentication not enabled");
  if (!user_.empty()) return reply("503 5.5.1 Error: already authenticated");
  if (state_ != State::ready) return reply("503 5.5.1 Error: AUTH not allowed now");
  if (!conn_.is_tls() && !*conf_.auth_plaintext) return reply("538 5.7.11 Encryption required for requested authentication mechanism");
  auto space = arg.find(' ');
  auth_ = auth::Exchange::start(arg.substr(0, space), conn_.worker().loop());
  if (!auth_) return reply("504 5.5.4 Error: unsupported authentication mechanism");
  std::optional<std::string_view> initial;
  if (space != std::string_view::npos) initial = arg.substr(space + 1);
  state_ = State::busy;
  conn_.pause();
  auth_->begin(initial, [this](auth::Exchange::Result r) { auth_result(r); });
}

void SmtpSession::auth_step(std::string_view response) {
  state_ = State::busy;
  conn_.pause();
  auth_->step(response, [this](auth::Exchange::Result r) { auth_result(r); });
}

void SmtpSession::auth_result(auth::Exchange::Result r) {
  using R = auth::Exchange::Result;
  state_ = State::ready;
  switch (r) {
    case R::challenge:
      state_ = State::auth;
      reply("334 " + auth_->challenge());
      break;
    case R::ok:
      user_ = auth_->user();
      envelope_.user = user_;
      conn_.set_user(user_);
      auth_.reset();
      reply("235 2.7.0 Authentication successful");
      break;
    case R::failed: return auth_failed();
    case R::malformed: reply("501 5.5.2 Error: cannot decode the response"); break;
    case R::aborted: reply("501 5.7.0 Authentication aborted"); break;
    case R::authz: reply("535 5.7.8 Error: authorization identity differs"); break;
    case R::temporary: reply("454 4.7.0 Temporary authentication failure"); break;
  }
  if (r != R::ok && r != R::challenge) auth_.reset();
  conn_.resume();
}

// Slow down guessing: the answer, and the next command, wait.
void SmtpSession::auth_failed() {
  auth::log_failure("smtp", auth_->mechanism(), auth_->name(), conn_.peer(), auth_->why());
  auth_.reset();
  state_ = State::busy;
  start_timer(*conf_.auth_failure_delay, [](uv_timer_t* t) {
    auto* s = static_cast<SmtpSession*>(t->data);
    s->state_ = State::ready;
    s->reply("535 5.7.8 Error: authentication failed");
    s->conn_.resume();
  });
}

}  // namespace gannet::smtp
