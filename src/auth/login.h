// Logging in, for every protocol (SMTP AUTH, IMAP LOGIN and AUTHENTICATE,
// POP3 USER/PASS and AUTH): a SASL exchange over the store's users, with
// argon2id on the thread pool and SCRAM-SHA-256 against the stored keys.
// The protocol frames the challenges and chooses the replies and the delay
// after a failure; what a login means is decided here once.
#pragma once

#include <uv.h>

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "auth/sasl.h"
#include "store/records.h"

namespace gannet::auth {

// Secrets every worker must share (the made-up SCRAM salts) and the dummy
// hash: made in the master, before the fork.
void init();

// The user a login names, if it may log in at all.
std::optional<store::User> enabled_user(const std::string& address);

// A name as the client sent it, safe for a log line: a CR or LF in it must
// not forge a line that blames another address.
std::string loggable(std::string_view name);

// The notice a failed login leaves: "<protocol>: <mech> authentication
// failed for "<name>" from <peer><why>", the name made loggable.
void log_failure(std::string_view protocol, std::string_view mech, std::string_view name, const std::string& peer,
                 const char* why);

// Checks a password with argon2id on loop's thread pool, at most two at
// once per worker so that logins never hold every pool thread. An unknown
// or disabled name costs as much as a known one. done gets the user's
// address, or "" on failure; it runs on the loop, and not at all if
// *alive is false by then.
void check_password(uv_loop_t* loop, std::string_view name, std::string password, std::shared_ptr<bool> alive,
                    std::function<void(const std::string& user)> done);

// The mechanisms offered, as AUTH and CAPABILITY list them.
inline constexpr std::string_view kMechanisms = "PLAIN LOGIN SCRAM-SHA-256";

// One SASL exchange (AUTH, AUTHENTICATE). The session feeds it the
// client's responses as sent (base64, or "*" to cancel) and frames what it
// answers.
class Exchange {
 public:
  enum class Result {
    challenge,  // send challenge() and wait for the next response
    ok,         // user() is logged in
    failed,     // wrong credentials: answer after the protocol's delay
    malformed,  // a response that is not what the mechanism takes
    aborted,    // the client sent "*"
    authz,      // an authorization identity other than the user's
    temporary,  // our side failed
  };
  using Done = std::function<void(Result)>;

  // Null if mech (any case) is not one of kMechanisms.
  static std::unique_ptr<Exchange> start(std::string_view mech, uv_loop_t* loop);
  ~Exchange();

  // The first step: with the initial response if the command carried one
  // (SASL-IR; "=" is an empty one), else the mechanism's first challenge.
  void begin(std::optional<std::string_view> initial, Done done);
  // The next response. done runs once, now or after the password check,
  // and never once the exchange is gone.
  void step(std::string_view response, Done done);

  const std::string& challenge() const { return challenge_; }  // base64
  const std::string& mechanism() const { return mech_; }
  const std::string& user() const { return user_; }        // the store's address, once ok
  const std::string& name() const { return name_; }        // as the client gave it, for the log
  const char* why() const { return why_; }                 // more for the log, on failure

 private:
  Exchange(std::string mech, uv_loop_t* loop);
  void plain(std::string_view decoded_b64, const Done& done);
  void login(std::string_view b64, const Done& done);
  void scram(std::string_view b64, const Done& done);
  void scram_first(std::string_view msg, const Done& done);
  void scram_final(std::string_view msg, const Done& done);
  void check(std::string password, const Done& done);
  void ask(std::string_view raw, const Done& done);  // a challenge of raw octets

  std::string mech_;
  uv_loop_t* loop_;
  int step_ = 0;
  std::string name_, user_, challenge_;
  const char* why_ = "";
  struct Scram;
  std::unique_ptr<Scram> scram_;  // only while a SCRAM exchange runs
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace gannet::auth
