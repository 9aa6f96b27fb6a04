// PLAIN, LOGIN and SCRAM-SHA-256 (RFC 4616, 5802, 7677) over the store's
// users; sasl.cc decodes the client's responses. The argon2id check runs on
// libuv's thread pool; a SCRAM proof is checked against stored keys, a few
// hashes, on the loop.
#include "auth/login.h"

#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <algorithm>
#include <deque>

#include "log.h"
#include "password.h"
#include "store/store_module.h"

namespace gannet::auth {

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
// connections would tell the name is no user: init() makes it before the
// fork.
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

struct Check {
  uv_work_t req;
  std::string hash, password, user;
  bool ok = false;
  std::shared_ptr<bool> alive;
  std::function<void(const std::string&)> done;
};

// At most kMaxHashing argon2id checks on a worker's thread pool at once;
// the rest wait here. A burst of logins (or an attacker's) then never
// holds every pool thread, so the store's commits, and the replies of
// every other session, do not queue behind password hashes.
constexpr int kMaxHashing = 2;
int hashing = 0;
std::deque<Check*> waiting;

void start_checks(uv_loop_t* loop) {
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
          start_checks(r->loop);
          if (*c->alive) c->done(c->ok ? c->user : std::string());
        });
  }
}

}  // namespace

void init() {
  dummy_hash();  // argon2id once here, never on a worker's loop
  fake_salt_key();
}

std::optional<store::User> enabled_user(const std::string& address) {
  auto u = worker_store()->read([&](store::Txn& t) { return t.user(address); });
  if (u && !u->enabled) u.reset();
  return u;
}

std::string loggable(std::string_view name) {
  static const char hex[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : name) {
    if (c >= 0x20 && c != 0x7f && c != '"' && c != '\\') out += static_cast<char>(c);
    else out.append("\\x").append(1, hex[c >> 4]).append(1, hex[c & 15]);
  }
  return out;
}

void check_password(uv_loop_t* loop, std::string_view name, std::string password, std::shared_ptr<bool> alive,
                    std::function<void(const std::string&)> done) {
  auto found = enabled_user(store::normalize_address(name));
  auto* c = new Check;
  c->hash = found ? found->password_hash : dummy_hash();
  c->password = std::move(password);
  c->user = found ? found->address : std::string();
  c->alive = std::move(alive);
  c->done = std::move(done);
  c->req.data = c;
  waiting.push_back(c);
  start_checks(loop);
}

// --- the exchange ---

struct Exchange::Scram {
  sasl::ScramServer server;
  sasl::ScramKey stored_key{}, server_key{};
  std::string user;  // the store's address; empty: the exchange is fake
};

std::unique_ptr<Exchange> Exchange::start(std::string_view mech, uv_loop_t* loop) {
  std::string m(mech);
  for (char& c : m) c = static_cast<char>(toupper(static_cast<unsigned char>(c)));
  if (m != "PLAIN" && m != "LOGIN" && m != kScram) return nullptr;
  return std::unique_ptr<Exchange>(new Exchange(std::move(m), loop));
}

Exchange::Exchange(std::string mech, uv_loop_t* loop) : mech_(std::move(mech)), loop_(loop) {}
Exchange::~Exchange() { *alive_ = false; }

void Exchange::begin(std::optional<std::string_view> initial, Done done) {
  if (initial) return step(*initial == "=" ? "" : *initial, std::move(done));
  if (mech_ == "LOGIN") {
    challenge_ = sasl::kLoginUsernamePrompt;
    return done(Result::challenge);
  }
  challenge_.clear();
  done(Result::challenge);
}

void Exchange::step(std::string_view response, Done done) {
  if (response == "*") return done(Result::aborted);
  if (mech_ == "PLAIN") return plain(response, done);
  if (mech_ == "LOGIN") return login(response, done);
  scram(response, done);
}

void Exchange::ask(std::string_view raw, const Done& done) {
  challenge_ = sasl::base64_encode(raw);
  done(Result::challenge);
}

void Exchange::plain(std::string_view b64, const Done& done) {
  auto c = sasl::decode_plain(b64);
  if (!c) return done(Result::malformed);
  name_ = c->authcid;
  if (!c->authzid.empty() && c->authzid != c->authcid) return done(Result::authz);
  check(std::move(c->password), done);
}

void Exchange::login(std::string_view b64, const Done& done) {
  auto field = sasl::decode_login(b64);
  if (!field) return done(Result::malformed);
  if (step_++ == 0) {
    name_ = std::move(*field);
    challenge_ = sasl::kLoginPasswordPrompt;
    return done(Result::challenge);
  }
  check(std::move(*field), done);
}

void Exchange::check(std::string password, const Done& done) {
  check_password(loop_, name_, std::move(password), alive_, [this, done](const std::string& user) {
    user_ = user;
    done(user.empty() ? Result::failed : Result::ok);
  });
}

// SCRAM-SHA-256: client-first, client-final, then an empty response to the
// server-final (RFC 4954 4, RFC 9051 6.2.2).
void Exchange::scram(std::string_view b64, const Done& done) {
  auto msg = sasl::base64_decode(b64);
  if (!msg) return done(Result::malformed);
  switch (step_++) {
    case 0: return scram_first(*msg, done);
    case 1: return scram_final(*msg, done);
    default: break;
  }
  if (!msg->empty()) return done(Result::malformed);
  user_ = std::move(scram_->user);
  scram_.reset();
  done(Result::ok);
}

// A user without SCRAM secrets (unknown, disabled, or a password set before
// SCRAM) gets a made-up salt and the whole exchange, and fails only at the
// proof, as Dovecot does: the answers never tell which names are users.
void Exchange::scram_first(std::string_view msg, const Done& done) {
  scram_ = std::make_unique<Scram>();
  sasl::ScramServer& server = scram_->server;
  if (!server.client_first(msg)) return done(Result::malformed);
  name_ = server.username();
  if (!server.authzid().empty() && server.authzid() != server.username()) return done(Result::authz);
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
    if (found) why_ = ": no SCRAM keys, the password was set before SCRAM support";
  }
  std::string first = server.server_first(salt, iterations, sasl::scram_nonce());
  if (first.empty()) return done(Result::temporary);
  ask(first, done);
}

// A wrong proof is a wrong password.
void Exchange::scram_final(std::string_view msg, const Done& done) {
  sasl::ScramServer& server = scram_->server;
  if (!server.client_final(msg)) return done(Result::malformed);
  bool proven = server.verify(scram_->stored_key);  // also for a fake exchange: the same work
  if (!proven || scram_->user.empty()) {
    scram_.reset();
    return done(Result::failed);
  }
  ask(server.server_final(scram_->server_key), done);
}

void log_failure(std::string_view protocol, std::string_view mech, std::string_view name, const std::string& peer,
                 const char* why) {
  GLOG(Level::notice, "%.*s: %.*s authentication failed for \"%s\" from %s%s", static_cast<int>(protocol.size()),
       protocol.data(), static_cast<int>(mech.size()), mech.data(), loggable(name).c_str(), peer.c_str(), why);
}

}  // namespace gannet::auth
