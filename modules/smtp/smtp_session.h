// One SMTP session: a state machine driven by a table of commands, each row
// naming the filter phase it raises (OpenSMTPD's shape).
#pragma once

#include <uv.h>

#include <memory>
#include <string>
#include <vector>

#include "auth/login.h"
#include "connection.h"
#include "mail/message_buffer.h"
#include "module.h"
#include "session_timer.h"
#include "smtp_data.h"
#include "smtp_module.h"
#include "smtp_parse.h"
#include "store/records.h"
#include "store/txn.h"

namespace gannet::smtp {

std::unique_ptr<Session> make_session(Connection& c);

class SmtpSession final : public Session {
 public:
  explicit SmtpSession(Connection& c);
  ~SmtpSession() override;

  void on_start() override;
  void on_line(std::string_view line) override;
  void on_line_too_long(std::string_view head) override;
  void on_bytes(std::string_view chunk, bool last) override;
  void on_drain() override;
  bool on_timeout() override;

  // --- command handlers, one per row of the command table ---
  void cmd_helo(std::string_view arg);
  void cmd_ehlo(std::string_view arg);
  void cmd_mail(std::string_view arg);
  void cmd_rcpt(std::string_view arg);
  void cmd_data(std::string_view arg);
  void cmd_bdat(std::string_view arg);
  void cmd_rset(std::string_view arg);
  void cmd_noop(std::string_view arg);
  void cmd_quit(std::string_view arg);
  void cmd_vrfy(std::string_view arg);
  void cmd_expn(std::string_view arg);
  void cmd_help(std::string_view arg);
  void cmd_starttls(std::string_view arg);
  void cmd_auth(std::string_view arg);

 private:
  enum class State {
    greeting,  // the banner waits for smtp_greeting_delay
    fresh,     // no HELO/EHLO yet
    ready,     // no transaction
    mail,      // MAIL accepted, RCPTs follow
    data,      // reading DATA lines
    bdat,      // reading BDAT chunks
    auth,      // inside a SASL exchange
    busy,      // a filter or the store has the message; input waits
    closing,
  };
  struct Recipient {
    std::string address;            // as normalised for the store or the queue
    std::vector<uint32_t> user_ids; // local users it reaches; empty = remote
    uint8_t notify = 0;             // DSN NOTIFY as store::NOTIFY_* bits, 0 = not given
    std::string orcpt;              // DSN ORCPT as received, "" if none
  };

  void reply(std::string_view line);  // one line, CRLF added; 4xx/5xx count as errors
  void greet();
  void begin_helo(std::string_view arg, bool esmtp);
  void reset_transaction();
  bool check_state_for_transaction();
  void run_filters(Phase phase, std::string_view subject, std::function<void()> proceed);
  void begin_message();
  void spool(std::string_view bytes);
  void data_line(std::string_view line);
  void chunk_done();
  void end_of_message();
  void store_message();
  void commit(std::shared_ptr<mail::MessageBuffer> msg);
  void stored(store::Status s, size_t size);
  store::QueueEntry queue_entry() const;  // the remote recipients, with their DSN requests
  std::string success_dsn(const mail::MessageBuffer& m, size_t skip) const;  // for local NOTIFY=SUCCESS; "" if none
  void drain_or_continue();
  std::string received_header() const;
  std::string trace_headers();
  size_t add_return_path(mail::MessageBuffer& m) const;  // its length, 0 if none
  void start_timer(uint64_t ms, void (*cb)(uv_timer_t*));
  void auth_step(std::string_view response);
  void auth_result(auth::Exchange::Result r);
  void auth_failed();

  Connection& conn_;
  const SmtpConf& conf_;
  State state_ = State::fresh;
  Envelope envelope_;  // what filters see; run_ refers to it
  PhaseRun run_;
  std::string helo_;
  bool esmtp_ = false;
  bool draining_ = false;
  int errors_ = 0;
  std::string user_;  // authenticated address
  // The transaction.
  Path sender_;
  MailParams params_;
  std::vector<Recipient> rcpts_;
  std::shared_ptr<mail::MessageBuffer> message_;
  DataBody data_;  // DATA's lines, moved on to message_ as they come
  bool spool_paused_ = false;  // input waits for message_'s spool file
  std::string message_id_;     // "queued as" and in Received
  bool too_big_ = false, bare_newline_ = false, long_line_ = false;
  bool chunking_ = false;   // BDAT was used: DATA may not follow
  uint64_t chunk_size_ = 0;
  bool chunk_last_ = false;
  bool chunk_drop_ = false;  // read the chunk, keep nothing
  State drop_state_ = State::fresh;
  std::unique_ptr<auth::Exchange> auth_;  // AUTH in progress
  SessionTimer timer_;
  // Cleared when the session goes: a store commit finishing later must not
  // touch it.
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace gannet::smtp
