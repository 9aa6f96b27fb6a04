// AUTH PLAIN, LOGIN and SCRAM-SHA-256 (RFC 4954, 4616, 5802, 7677) for
// submission; sasl.cc decodes the client's responses. The argon2id check
// runs on libuv's thread pool; a SCRAM proof is checked against stored keys,
// a few hashes, on the loop. A failure answers only after a delay.
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <uv.h>

#include <algorithm>
#include <deque>

#include "log.h"
#include "password.h"
#include "smtp_session.h"
#include "store/store_module.h"
#include "worker.h"

namespace gannet::smtp {

namespace {

constexpr std::string_view kScram = "SCRAM-SHA-256";

// A hash of a password nobody has: an unknown user costs as much as a
// known one, so timing does not tell which users exist.
const std::string& dummy_hash() {
  static const std::string h = hash_password("gannet-no-such-user");
  return h;
}

// The key of the salts made up for names SCRAM cannot serve. Every worker
// must answer one name with one salt, or a salt that changes between
// connections would tell the name is no user: init_auth makes it before
// the fork.
const sasl::ScramKey& fake_salt_key() {
  static const sasl::ScramKey key = [] {
    sasl::ScramKey k;
    RAND_bytes(k.data(), k.size());
    return k;
  }();
  return key;
}

std::string fake_salt(std::string_view name) {
  const sasl::ScramKey& key = fake_salt_key();
  uint8_t mac[EVP_MAX_MD_SIZE];
  unsigned len = 0;
  HMAC(EVP_sha256(), key.data(), key.size(), reinterpret_cast<const uint8_t*>(name.data()), name.size(), mac, &len);
  return {reinterpret_cast<const char*>(mac), sasl::kScramSaltLen};
}

sasl::ScramKey key_of(std::string_view s) {  // 32 octets: the store's decoder checked
  sasl::ScramKey k{};
  std::copy_n(s.begin(), std::min(s.size(), k.size()), k.begin());
  return k;
}

// A name as the client sent it, safe for a log line: a CR or LF in it must
// not forge a line that blames another address.
std::string loggable(std::string_view name) {
  static const char hex[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : name) {
    if (c >= 0x20 && c != 0x7f && c != '"' && c != '\\') out += static_cast<char>(c);
    else out.append("\\x").append(1, hex[c >> 4]).append(1, hex[c & 15]);
  }
  return out;
}

// The user a login names, if it may log in at all.
std::optional<store::User> enabled_user(const std::string& address) {
  auto u = worker_store()->read([&](store::Txn& t) { return t.user(address); });
  if (u && !u->enabled) u.reset();
  return u;
}

struct Check {
  uv_work_t req;
  std::string hash, password, user;
  bool ok = false;
  std::shared_ptr<bool> alive;
  SmtpSession* session;
};

// At most kMaxHashing argon2id checks on a worker's thread pool at once;
// the rest wait here. A burst of logins (or an attacker's) then never
// holds every pool thread, so the store's commits, and the 250s of every
// other session, do not queue behind password hashes.
constexpr int kMaxHashing = 2;
int hashing = 0;
std::deque<Check*> waiting;

}  // namespace

void init_auth() {
  dummy_hash();  // argon2id once here, never on a worker's loop
  fake_salt_key();
}

void SmtpSession::cmd_auth(std::string_view arg) {
  if (*conf_.role != Role::submission) return reply("503 5.5.1 Error: authentication not enabled");
  if (!user_.empty()) return reply("503 5.5.1 Error: already authenticated");
  if (state_ != State::ready) return reply("503 5.5.1 Error: AUTH not allowed now");
  if (!conn_.is_tls() && !*conf_.auth_plaintext) return reply("538 5.7.11 Encryption required for requested authentication mechanism");
  auto space = arg.find(' ');
  std::string mech(arg.substr(0, space));
  for (char& c : mech) c = static_cast<char>(toupper(static_cast<unsigned char>(c)));
  std::string_view initial = space == std::string_view::npos ? std::string_view() : arg.substr(space + 1);
  if (mech != "PLAIN" && mech != "LOGIN" && mech != kScram)
    return reply("504 5.5.4 Error: unsupported authentication mechanism");
  auth_mech_ = mech;
  auth_user_.clear();
  auth_step_ = 0;
  state_ = State::auth;
  if (mech == kScram) scram_ = std::make_unique<Scram>();
  if (initial.empty()) return reply(mech == "LOGIN" ? "334 " + std::string(sasl::kLoginUsernamePrompt) : "334 ");
  auth_step(initial == "=" ? "" : initial);
}

void SmtpSession::auth_step(std::string_view response) {
  if (response == "*") return auth_end("501 5.7.0 Authentication aborted");
  if (auth_mech_ == "PLAIN") return auth_plain(response);
  if (auth_mech_ == "LOGIN") return auth_login(response);
  scram_step(response);
}

// Leaves the exchange unauthenticated, at once: for a malformed or
// cancelled one, which guesses no password.
void SmtpSession::auth_end(std::string_view reply_line) {
  state_ = State::ready;
  scram_.reset();
  reply(reply_line);
}

void SmtpSession::auth_plain(std::string_view response) {
  auto c = sasl::decode_plain(response);
  if (!c) return auth_end("501 5.5.2 Error: malformed PLAIN response");
  if (!c->authzid.empty() && c->authzid != c->authcid)
    return auth_end("535 5.7.8 Error: authorization identity differs");
  check_password(c->authcid, std::move(c->password));
}

void SmtpSession::auth_login(std::string_view response) {
  auto field = sasl::decode_login(response);
  if (!field) return auth_end("501 5.5.2 Error: cannot decode the response");
  if (auth_step_++ == 0) {
    auth_user_ = std::move(*field);
    return reply("334 " + std::string(sasl::kLoginPasswordPrompt));
  }
  check_password(auth_user_, std::move(*field));
}

void SmtpSession::start_password_checks(uv_loop_t* loop) {
  while (hashing < kMaxHashing && !waiting.empty()) {
    Check* c = waiting.front();
    waiting.pop_front();
    if (!*c->alive) {  // the client left while it waited
      delete c;
      continue;
    }
    hashing++;
    uv_queue_work(
        loop, &c->req,
        [](uv_work_t* r) {
          auto* c = static_cast<Check*>(r->data);
          c->ok = !c->user.empty() && verify_password(c->hash, c->password);
        },
        [](uv_work_t* r, int) {
          std::unique_ptr<Check> c(static_cast<Check*>(r->data));
          hashing--;
          start_password_checks(r->loop);
          if (*c->alive) c->session->auth_done(c->ok, c->user);
        });
  }
}

void SmtpSession::check_password(const std::string& name, std::string password) {
  auth_user_ = name;  // for the log
  auto found = enabled_user(store::normalize_address(name));
  auto* c = new Check;
  c->hash = found ? found->password_hash : dummy_hash();
  c->password = std::move(password);
  c->user = found ? found->address : std::string();
  c->alive = alive_;
  c->session = this;
  c->req.data = c;
  state_ = State::busy;
  conn_.pause();
  waiting.push_back(c);
  start_password_checks(conn_.worker().loop());
}

// --- SCRAM-SHA-256: client-first, client-final, then an empty response
// to the server-final (RFC 4954 4) ---

void SmtpSession::scram_step(std::string_view response) {
  auto msg = sasl::base64_decode(response);
  if (!msg) return auth_end("501 5.5.2 Error: cannot decode the response");
  switch (auth_step_++) {
    case 0: return scram_first(*msg);
    case 1: return scram_final(*msg);
    default: break;
  }
  if (!msg->empty()) return auth_end("501 5.5.2 Error: expected an empty response");
  std::string user = std::move(scram_->user);
  scram_.reset();
  auth_done(true, user);
}

// A user without SCRAM secrets (unknown, disabled, or a password set before
// SCRAM) gets a made-up salt and the whole exchange, and fails only at the
// proof, as Dovecot does: the answers never tell which names are users.
void SmtpSession::scram_first(std::string_view msg) {
  sasl::ScramServer& server = scram_->server;
  if (!server.client_first(msg)) return auth_end("501 5.5.2 Error: malformed SCRAM-SHA-256 message");
  auth_user_ = server.username();  // for the log
  if (!server.authzid().empty() && server.authzid() != server.username())
    return auth_end("535 5.7.8 Error: authorization identity differs");
  std::string address = store::normalize_address(server.username());
  auto found = enabled_user(address);
  std::string salt;
  uint32_t iterations = sasl::kScramIterations;
  if (found && !found->scram.empty()) {
    salt = found->scram.salt;
    iterations = found->scram.iterations;
    scram_->stored_key = key_of(found->scram.stored_key);
    scram_->server_key = key_of(found->scram.server_key);
    scram_->user = found->address;
  } else {
    salt = fake_salt(address.empty() ? server.username() : address);
    if (found) scram_->why = ": no SCRAM keys, the password was set before SCRAM support";
  }
  std::string first = server.server_first(salt, iterations, sasl::scram_nonce());
  if (first.empty()) return auth_end("454 4.7.0 Temporary authentication failure");
  reply("334 " + sasl::base64_encode(first));
}

// A wrong proof is a wrong password: logged, and answered after the delay.
void SmtpSession::scram_final(std::string_view msg) {
  sasl::ScramServer& server = scram_->server;
  if (!server.client_final(msg)) return auth_end("501 5.5.2 Error: malformed SCRAM-SHA-256 message");
  bool proven = server.verify(scram_->stored_key);  // also for a fake exchange: the same work
  if (!proven || scram_->user.empty()) {
    const char* why = scram_->why;
    scram_.reset();
    state_ = State::busy;
    conn_.pause();
    return auth_done(false, {}, why);
  }
  reply("334 " + sasl::base64_encode(server.server_final(scram_->server_key)));
}

void SmtpSession::auth_done(bool ok, const std::string& user, const char* why) {
  if (ok) {
    user_ = user;
    conn_.set_user(user);
    state_ = State::ready;
    reply("235 2.7.0 Authentication successful");
    conn_.resume();
    return;
  }
  GLOG(Level::notice, "smtp: %s authentication failed for \"%s\" from %s%s", auth_mech_.c_str(),
       loggable(auth_user_).c_str(), conn_.peer().c_str(), why);
  // Slow down guessing: the answer, and the next command, wait.
  start_timer(*conf_.auth_failure_delay, [](uv_timer_t* t) {
    auto* s = static_cast<SmtpSession*>(t->data);
    s->state_ = State::ready;
    s->reply("535 5.7.8 Error: authentication failed");
    s->conn_.resume();
  });
}

}  // namespace gannet::smtp
