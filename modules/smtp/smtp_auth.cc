// AUTH PLAIN and LOGIN (RFC 4954, 4616) for submission. The argon2id check
// runs on libuv's thread pool; a failure answers only after a delay.
#include <openssl/base64.h>
#include <uv.h>

#include "log.h"
#include "password.h"
#include "smtp_session.h"
#include "store/store_module.h"
#include "worker.h"

namespace gannet::smtp {

namespace {

std::optional<std::string> base64_decode(std::string_view in) {
  size_t len = 0;
  if (!EVP_DecodedLength(&len, in.size())) return std::nullopt;
  std::string out(len, '\0');
  if (!EVP_DecodeBase64(reinterpret_cast<uint8_t*>(out.data()), &len, out.size(),
                        reinterpret_cast<const uint8_t*>(in.data()), in.size()))
    return std::nullopt;
  out.resize(len);
  return out;
}

// A hash of a password nobody has: an unknown user costs as much as a
// known one, so timing does not tell which users exist.
const std::string& dummy_hash() {
  static const std::string h = hash_password("gannet-no-such-user");
  return h;
}

struct Check {
  uv_work_t req;
  std::string hash, password, user;
  bool ok = false;
  std::shared_ptr<bool> alive;
  SmtpSession* session;
};

}  // namespace

void SmtpSession::cmd_auth(std::string_view arg) {
  if (*conf_.role != Role::submission) return reply("503 5.5.1 Error: authentication not enabled");
  if (!user_.empty()) return reply("503 5.5.1 Error: already authenticated");
  if (state_ != State::ready) return reply("503 5.5.1 Error: AUTH not allowed now");
  if (!conn_.is_tls() && !*conf_.auth_plaintext) return reply("538 5.7.11 Encryption required for requested authentication mechanism");
  auto space = arg.find(' ');
  std::string mech(arg.substr(0, space));
  for (char& c : mech) c = static_cast<char>(toupper(static_cast<unsigned char>(c)));
  std::string_view initial = space == std::string_view::npos ? std::string_view() : arg.substr(space + 1);
  if (mech != "PLAIN" && mech != "LOGIN") return reply("504 5.5.4 Error: unsupported authentication mechanism");
  auth_mech_ = mech;
  auth_user_.clear();
  auth_step_ = 0;
  state_ = State::auth;
  if (initial.empty()) return reply(mech == "PLAIN" ? "334 " : "334 VXNlcm5hbWU6");  // "Username:"
  auth_step(initial == "=" ? "" : initial);
}

void SmtpSession::auth_step(std::string_view response) {
  if (response == "*") {
    state_ = State::ready;
    return reply("501 5.7.0 Authentication aborted");
  }
  auto decoded = base64_decode(response);
  if (!decoded) {
    state_ = State::ready;
    return reply("501 5.5.2 Error: cannot decode the response");
  }
  std::string user, password;
  if (auth_mech_ == "LOGIN" && auth_step_++ == 0) {
    auth_user_ = *decoded;
    return reply("334 UGFzc3dvcmQ6");  // "Password:"
  }
  if (auth_mech_ == "LOGIN") {
    user = auth_user_;
    password = *decoded;
  } else {  // PLAIN: authzid NUL authcid NUL passwd
    auto a = decoded->find('\0');
    auto b = a == std::string::npos ? a : decoded->find('\0', a + 1);
    if (b == std::string::npos) {
      state_ = State::ready;
      return reply("501 5.5.2 Error: malformed PLAIN response");
    }
    std::string authzid = decoded->substr(0, a);
    user = decoded->substr(a + 1, b - a - 1);
    password = decoded->substr(b + 1);
    if (!authzid.empty() && authzid != user) {
      state_ = State::ready;
      return reply("535 5.7.8 Error: authorization identity differs");
    }
  }
  auth_user_ = user;  // for the log
  user = store::normalize_address(user);
  auto found = worker_store()->read([&](store::Txn& t) { return t.user(user); });
  auto* c = new Check;
  c->hash = found && found->enabled ? found->password_hash : dummy_hash();
  c->password = std::move(password);
  c->user = found && found->enabled ? found->address : std::string();
  c->alive = alive_;
  c->session = this;
  c->req.data = c;
  state_ = State::busy;
  conn_.pause();
  uv_queue_work(
      conn_.worker().loop(), &c->req,
      [](uv_work_t* r) {
        auto* c = static_cast<Check*>(r->data);
        c->ok = !c->user.empty() && verify_password(c->hash, c->password);
      },
      [](uv_work_t* r, int) {
        std::unique_ptr<Check> c(static_cast<Check*>(r->data));
        if (*c->alive) c->session->auth_done(c->ok, c->user);
      });
}

void SmtpSession::auth_done(bool ok, const std::string& user) {
  if (ok) {
    user_ = user;
    conn_.set_user(user);
    state_ = State::ready;
    reply("235 2.7.0 Authentication successful");
    conn_.resume();
    return;
  }
  GLOG(Level::notice, "smtp: authentication failed for \"%s\" from %s", auth_user_.c_str(), conn_.peer().c_str());
  // Slow down guessing: the answer, and the next command, wait.
  start_timer(*conf_.auth_failure_delay, [](uv_timer_t* t) {
    auto* s = static_cast<SmtpSession*>(t->data);
    s->state_ = State::ready;
    s->reply("535 5.7.8 Error: authentication failed");
    s->conn_.resume();
  });
}

}  // namespace gannet::smtp
