// One POP3 session: AUTHORIZATION, then TRANSACTION over a snapshot of
// INBOX taken at login (message numbers never shift), then UPDATE at QUIT:
// the messages marked with DELE go, and those retrieved are \Seen, in one
// store transaction, and +OK only once it is durable.
#pragma once

#include <uv.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "auth/login.h"
#include "connection.h"
#include "session_timer.h"
#include "module.h"
#include "pop3_module.h"
#include "pop3_parse.h"
#include "store/records.h"

namespace gannet::pop3 {

std::unique_ptr<Session> make_session(Connection& c);

class Pop3Session final : public Session {
 public:
  explicit Pop3Session(Connection& c);
  ~Pop3Session() override;

  void on_start() override;
  void on_line(std::string_view line) override;
  void on_line_too_long(std::string_view head) override;
  void on_writable() override;
  bool on_timeout() override;

 private:
  enum class State { authorization, transaction, closing };
  struct Message {  // one of the maildrop
    uint32_t uid;
    uint64_t size, body_id;
    bool deleted = false, retrieved = false;
  };
  struct Sending;  // a RETR or TOP on its way

  void reply(std::string_view text);  // CRLF added
  bool may_log_in() const;
  void command(const Command& c);
  void cmd_capa();
  void cmd_user(const Command& c);
  void cmd_pass(const Command& c);
  void cmd_auth(const Command& c);
  void auth_result(auth::Exchange::Result r);
  void logged_in(const std::string& user);
  void locked(const store::User& u, int fd);  // the maildrop's lock file is open
  void login_failed(const std::string& name, std::string_view mech, const char* why = "");
  void cmd_list(const Command& c, bool uidl);
  void cmd_retr(const Command& c, bool top);
  void cmd_quit();
  Message* message(const Command& c, size_t arg = 0);  // by number; replies -ERR if none
  void send_more();
  void busy();
  void ready();

  Connection& conn_;
  const Pop3Conf& conf_;
  State state_ = State::authorization;
  std::string user_name_;  // USER's argument
  uint32_t mailbox_ = 0, uidvalidity_ = 0;
  std::vector<Message> drop_;
  std::unique_ptr<Sending> sending_;
  std::unique_ptr<auth::Exchange> auth_;
  SessionTimer timer_;
  int lock_fd_ = -1;  // holds the maildrop's flock for the session's life
  bool busy_ = false;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace gannet::pop3
