// One IMAP session: the command gathered from lines and literals, parsed
// whole (imap_parse.h), then run by a table of commands, each row naming
// the states it is allowed in.
#pragma once

#include <uv.h>

#include <memory>
#include <string>
#include <vector>

#include "auth/login.h"
#include "connection.h"
#include "session_timer.h"
#include "imap_module.h"
#include "imap_parse.h"
#include "mail/message_buffer.h"
#include "module.h"
#include "store/change_feed.h"
#include "store/records.h"
#include "store/store.h"

namespace gannet::imap {

std::unique_ptr<Session> make_session(Connection& c);

class ImapSession final : public Session {
 public:
  explicit ImapSession(Connection& c);
  ~ImapSession() override;

  void on_start() override;
  void on_line(std::string_view line) override;
  void on_line_too_long(std::string_view head) override;
  void on_bytes(std::string_view chunk, bool last) override;
  void on_drain() override;
  void on_writable() override;
  bool on_timeout() override;

  enum class State : uint8_t { not_authenticated = 1, authenticated = 2, selected = 4, logout = 8 };

  // --- command handlers, one per row of the command table ---
  void cmd_capability(const Command& c);
  void cmd_noop(const Command& c);
  void cmd_logout(const Command& c);
  void cmd_starttls(const Command& c);
  void cmd_login(const Command& c);
  void cmd_authenticate(const Command& c);
  void cmd_enable(const Command& c);
  void cmd_id(const Command& c);
  void cmd_namespace(const Command& c);
  void cmd_compress(const Command& c);
  void cmd_select(const Command& c);
  void cmd_list(const Command& c);
  void cmd_close(const Command& c);
  void cmd_fetch(const Command& c);
  void cmd_create(const Command& c);  // imap_mailbox.cc
  void cmd_delete(const Command& c);
  void cmd_rename(const Command& c);
  void cmd_subscribe(const Command& c);
  void cmd_lsub(const Command& c);
  void cmd_status(const Command& c);
  void cmd_quota(const Command& c);   // GETQUOTA, GETQUOTAROOT, SETQUOTA
  void cmd_store(const Command& c);   // imap_store.cc
  void cmd_expunge(const Command& c);
  void cmd_copy(const Command& c);
  void cmd_idle(const Command& c);    // imap_changes.cc
  void cmd_append(const Command& c);  // imap_append.cc
  void cmd_search(const Command& c);  // imap_search_cmd.cc

 private:
  struct View;  // the selected mailbox (imap_fetch.cc)

  void send(std::string_view text);  // CRLF added
  // The tagged reply, after what changed in the selected mailbox (EXPUNGE
  // only where RFC 3501 7.4.1 allows it).
  void tagged(const Command& c, std::string_view status_and_text);
  void tagged(const std::string& tag, const std::string& name, std::string_view status_and_text);
  // Brings the view up to date with the store and tells the client.
  void sync(bool expunges);
  void write_and_answer(const Command& c, store::Store::Op op, std::string ok_text = {});
  void bad(std::string_view tag, std::string_view text);
  void run(const std::string& wire);
  std::string capabilities() const;
  std::string quota_line();
  static std::optional<std::string> status_items(store::Txn& t, const store::Mailbox& mb, const std::vector<Arg>& items);
  bool may_log_in() const;
  void logged_in(const std::string& tag, const std::string& user);
  void login_failed(const std::string& tag, std::string_view mech, std::string_view name, const char* why = "");
  void auth_result(auth::Exchange::Result r);
  void busy();  // input waits for the thread pool or the store
  void ready();
  std::optional<std::string> mailbox_name(const Arg& a) const;  // from the wire form, UTF-8
  void fetch(const Command& c, bool uid);  // imap_fetch.cc
  struct Fetch;
  struct FetchDeleter {
    void operator()(Fetch* f) const;  // where Fetch is complete (imap_fetch.cc)
  };
  void continue_fetch();
  void list(const Command& c, bool subscribed_only);
  // The messages a sequence set names, as (sequence number, UID); nullopt
  // for a sequence number past the last.
  std::optional<std::vector<std::pair<uint32_t, uint32_t>>> targets(const std::vector<Range>& set, bool by_uid) const;
  std::optional<std::vector<Range>> sequence_set(const std::string& text, bool by_uid) const;  // with "$"
  void idle_done(std::string_view line);
  // CONDSTORE and QRESYNC (imap_condstore.cc).
  struct Resync {
    uint32_t uidvalidity = 0;
    uint64_t modseq = 0;
    std::vector<Range> known;  // UIDs the client has; empty: all
  };
  std::string select_params(const Arg& params, std::optional<Resync>& resync);
  void resynchronise(const Resync& r);
  void vanished(const std::vector<uint32_t>& uids, bool earlier);
  // APPEND's message literals (imap_append.cc).
  struct Appended;
  bool literal_is_message(std::string_view line) const;
  void begin_message_literal(std::string_view line, uint64_t size);
  void message_bytes(std::string_view chunk);
  void drop_appends();
  void store_appended(const std::string& tag, uint32_t mailbox, uint32_t validity,
                      std::shared_ptr<std::vector<Appended>> batch);
  void drop_command();  // a refused command: what was gathered of it goes

  Connection& conn_;
  const ImapConf& conf_;
  State state_ = State::not_authenticated;
  bool busy_ = false;
  bool utf8_ = false;   // ENABLE UTF8=ACCEPT or IMAP4rev2: mailbox names in UTF-8
  bool rev2_ = false;
  bool condstore_ = false;  // MODSEQ in FETCH answers (RFC 7162)
  bool qresync_ = false;    // VANISHED instead of EXPUNGE
  std::string cmd_;     // the command gathered so far, literals inline
  bool skip_ = false;   // a too-long command: drop it to its end
  uint32_t user_id_ = 0;
  std::string user_;
  std::unique_ptr<View> view_;
  std::vector<uint32_t> saved_;  // SEARCH RETURN (SAVE)'s UIDs, for "$"
  std::unique_ptr<Fetch, FetchDeleter> fetch_;  // a FETCH whose answers are being written
  std::vector<std::shared_ptr<mail::MessageBuffer>> appends_;  // the APPEND being read
  uint64_t literal_left_ = 0;  // of a message literal now streaming
  bool paused_for_spool_ = false;
  std::string idle_tag_;  // IDLE in progress
  std::optional<store::ChangeFeed::Token> idle_token_;
  std::unique_ptr<auth::Exchange> auth_;
  std::string auth_tag_;
  SessionTimer timer_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace gannet::imap
