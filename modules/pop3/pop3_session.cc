// The POP3 session (RFC 1939, RFC 2449 CAPA, RFC 2595 STLS, RFC 5034 AUTH).
#include "pop3_session.h"

#include <fcntl.h>
#include <sys/file.h>

#include <cstdio>

#include "digits.h"
#include "log.h"
#include "store/store_module.h"
#include "worker.h"

namespace gannet::pop3 {

namespace {

constexpr uint64_t kChunk = 256 << 10;  // a RETR's octets per read of the store

std::optional<uint64_t> number(std::string_view s) { return parse_digits(s, 999'999'999); }

}  // namespace

// RETR or TOP: the message's octets [next, end), byte-stuffed.
struct Pop3Session::Sending {
  uint64_t body_id, next = 0, end;
  bool at_line_start = true;
};

namespace {

// Where TOP stops: after the header, its blank line, and `lines` lines of
// the body (RFC 1939 7).
uint64_t top_end(std::string_view msg, uint64_t lines) {
  size_t pos = 0;
  for (;;) {  // the header, up to and with its blank line
    size_t nl = msg.find('\n', pos);
    if (nl == std::string_view::npos) return msg.size();
    bool blank = nl == pos || (nl == pos + 1 && msg[pos] == '\r');
    pos = nl + 1;
    if (blank) break;
  }
  for (; lines > 0 && pos < msg.size(); lines--) {
    size_t nl = msg.find('\n', pos);
    pos = nl == std::string_view::npos ? msg.size() : nl + 1;
  }
  return pos;
}

}  // namespace

std::unique_ptr<Session> make_session(Connection& c) { return std::make_unique<Pop3Session>(c); }

Pop3Session::Pop3Session(Connection& c)
    : conn_(c), conf_(c.server().conf<Pop3Conf>(pop3_module)), timer_(c.worker().loop()) {}

namespace {

// Closing the lock file drops the lock; on the pool, as every file call.
void close_file(uv_loop_t* loop, int fd) {
  auto* req = new uv_fs_t;
  uv_fs_close(loop, req, fd, [](uv_fs_t* r) {
    uv_fs_req_cleanup(r);
    delete r;
  });
}

}  // namespace

Pop3Session::~Pop3Session() {
  *alive_ = false;
  if (lock_fd_ >= 0) close_file(conn_.worker().loop(), lock_fd_);
}

void Pop3Session::reply(std::string_view text) {
  std::string out(text);
  out += "\r\n";
  conn_.write(out);
}

void Pop3Session::busy() {
  busy_ = true;
  conn_.pause();
}

void Pop3Session::ready() {
  busy_ = false;
  conn_.resume();
}

bool Pop3Session::may_log_in() const { return conn_.is_tls() || *conf_.auth_plaintext; }

void Pop3Session::on_start() { reply("+OK Gannet POP3 ready."); }

// RFC 1939 3: a timeout ends the session without UPDATE: nothing is deleted.
bool Pop3Session::on_timeout() {
  reply("-ERR [SYS/TEMP] Autologout; idle for too long");
  return false;
}

void Pop3Session::on_line_too_long(std::string_view) { reply("-ERR Line too long"); }

void Pop3Session::on_line(std::string_view line) {
  if (state_ == State::closing) return;
  if (auth_ && !busy_) {  // a response inside AUTH
    busy();
    return auth_->step(line, [this](auth::Exchange::Result r) { auth_result(r); });
  }
  auto c = parse_command(line);
  if (!c) return reply("-ERR Bad command line");
  command(*c);
}

void Pop3Session::command(const Command& c) {
  const std::string& k = c.keyword;
  if (k == "CAPA") return cmd_capa();
  if (k == "QUIT") return cmd_quit();
  if (k == "NOOP") return reply(state_ == State::transaction ? "+OK" : "-ERR Log in first");
  if (state_ == State::authorization) {
    if (k == "USER") return cmd_user(c);
    if (k == "PASS") return cmd_pass(c);
    if (k == "AUTH") return cmd_auth(c);
    if (k == "STLS") {
      if (!conn_.can_start_tls()) return reply("-ERR TLS not available");
      reply("+OK Begin TLS negotiation");
      conn_.start_tls();  // what was pipelined behind it in plaintext is dropped
      user_name_.clear();
      return;
    }
    return reply("-ERR Log in first");
  }
  if (k == "STAT") {
    uint64_t n = 0, size = 0;
    for (auto& m : drop_)
      if (!m.deleted) n++, size += m.size;
    return reply("+OK " + std::to_string(n) + " " + std::to_string(size));
  }
  if (k == "LIST") return cmd_list(c, false);
  if (k == "UIDL") return cmd_list(c, true);
  if (k == "RETR") return cmd_retr(c, false);
  if (k == "TOP") return cmd_retr(c, true);
  if (k == "DELE") {
    Message* m = message(c);
    if (!m) return;
    m->deleted = true;
    return reply("+OK Marked to be deleted");
  }
  if (k == "RSET") {
    for (auto& m : drop_) m.deleted = false;
    return reply("+OK");
  }
  reply("-ERR Unknown command");
}

void Pop3Session::cmd_capa() {
  // EXPIRE NEVER: the server deletes nothing by itself (RFC 2449 6.7).
  std::string caps =
      "+OK\r\nTOP\r\nUIDL\r\nRESP-CODES\r\nPIPELINING\r\nAUTH-RESP-CODE\r\nEXPIRE NEVER\r\nIMPLEMENTATION Gannet\r\n";
  if (state_ == State::authorization) {
    if (conn_.can_start_tls()) caps += "STLS\r\n";
    if (may_log_in()) caps += "USER\r\nSASL " + std::string(auth::kMechanisms) + "\r\n";
  }
  conn_.write(caps + ".\r\n");
}

// --- AUTHORIZATION ---

void Pop3Session::cmd_user(const Command& c) {
  if (!may_log_in()) return reply("-ERR [AUTH] Plaintext authentication disallowed without TLS");
  if (c.args.size() != 1) return reply("-ERR Syntax: USER name");
  user_name_ = c.args[0];
  reply("+OK");
}

void Pop3Session::cmd_pass(const Command& c) {
  if (!may_log_in()) return reply("-ERR [AUTH] Plaintext authentication disallowed without TLS");
  if (user_name_.empty()) return reply("-ERR USER first");
  if (c.args.size() != 1) return reply("-ERR Syntax: PASS password");
  busy();
  std::string name = std::move(user_name_);
  user_name_.clear();
  auth::check_password(conn_.worker().loop(), name, c.args[0], alive_, [this, name](const std::string& user) {
    if (user.empty()) return login_failed(name, "USER");
    logged_in(user);
  });
}

void Pop3Session::cmd_auth(const Command& c) {
  if (c.args.empty()) {  // RFC 5034 4: the mechanisms, as CAPA says them
    std::string list = "+OK\r\n";
    std::string_view m = auth::kMechanisms;
    for (size_t sp; !m.empty(); m = sp == std::string_view::npos ? "" : m.substr(sp + 1))
      list += std::string(m.substr(0, sp = m.find(' '))) + "\r\n";
    return conn_.write(list + ".\r\n");
  }
  if (!may_log_in()) return reply("-ERR [AUTH] Authentication disallowed without TLS");
  auth_ = auth::Exchange::start(c.args[0], conn_.worker().loop());
  if (!auth_) return reply("-ERR Unsupported mechanism");
  std::optional<std::string_view> initial;
  if (c.args.size() >= 2) initial = c.args[1];
  busy();
  auth_->begin(initial, [this](auth::Exchange::Result r) { auth_result(r); });
}

void Pop3Session::auth_result(auth::Exchange::Result r) {
  using R = auth::Exchange::Result;
  switch (r) {
    case R::challenge:
      reply("+ " + auth_->challenge());
      return ready();
    case R::ok: {
      std::string user = auth_->user();
      auth_.reset();
      return logged_in(user);
    }
    case R::failed: {
      auto ex = std::move(auth_);
      return login_failed(ex->name(), ex->mechanism(), ex->why());
    }
    case R::malformed: reply("-ERR Invalid response"); break;
    case R::aborted: reply("-ERR Authentication cancelled"); break;
    case R::authz: reply("-ERR [AUTH] Authorization identity differs"); break;
    case R::temporary: reply("-ERR [SYS/TEMP] Temporary authentication failure"); break;
  }
  auth_.reset();
  ready();
}

// One POP3 session a maildrop (RFC 2449 [IN-USE], as Dovecot does by
// default): an flock on a file in the store's directory, which any worker
// sees and which goes with the process if it dies. Opened on the pool.
void Pop3Session::logged_in(const std::string& user) {
  auto u = auth::enabled_user(user);
  if (!u) {
    reply("-ERR [AUTH] Authentication failed.");
    return ready();
  }
  struct Open {
    uv_fs_t req;
    Pop3Session* session;
    std::shared_ptr<bool> alive;
    store::User user;
  };
  auto* o = new Open{{}, this, alive_, *u};
  o->req.data = o;
  std::string path = worker_store_dir() + "/pop3-" + std::to_string(u->id) + ".lock";
  uv_fs_open(conn_.worker().loop(), &o->req, path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600, [](uv_fs_t* r) {
    std::unique_ptr<Open> o(static_cast<Open*>(r->data));
    int fd = static_cast<int>(r->result);
    uv_fs_req_cleanup(r);
    if (!*o->alive) {
      if (fd >= 0) close_file(r->loop, fd);
      return;
    }
    o->session->locked(o->user, fd);
  });
}

void Pop3Session::locked(const store::User& user, int fd) {
  if (fd < 0) {
    reply("-ERR [SYS/TEMP] Mailbox not available");
    return ready();
  }
  if (flock(fd, LOCK_EX | LOCK_NB) != 0) {  // never waits: another session has it
    close_file(conn_.worker().loop(), fd);
    reply("-ERR [IN-USE] Mailbox is in use by another POP3 session");
    return ready();
  }
  lock_fd_ = fd;
  // The maildrop: INBOX as it is now, numbered from 1, fixed for the
  // session; empty for a user who never had mail (no INBOX yet).
  worker_store()->read([&](store::Txn& t) {
    auto inbox = t.mailbox(user.id, "INBOX");
    if (!inbox) return 0;
    mailbox_ = inbox->id;
    uidvalidity_ = inbox->uidvalidity;
    for (auto& m : t.messages(inbox->id)) drop_.push_back({m.uid, m.size, m.body_id});
    return 0;
  });
  conn_.set_user(user.address);
  state_ = State::transaction;
  reply("+OK Logged in.");
  ready();
}

void Pop3Session::login_failed(const std::string& name, std::string_view mech, const char* why) {
  auth::log_failure("pop3", mech, name, conn_.peer(), why);
  timer_.start(*conf_.auth_failure_delay, this, [](uv_timer_t* t) {
    auto* s = static_cast<Pop3Session*>(t->data);
    s->reply("-ERR [AUTH] Authentication failed.");
    s->ready();
  });
}

// --- TRANSACTION ---

Pop3Session::Message* Pop3Session::message(const Command& c, size_t arg) {
  auto n = c.args.size() > arg ? number(c.args[arg]) : std::nullopt;
  if (!n || *n == 0 || *n > drop_.size() || drop_[*n - 1].deleted) {
    reply("-ERR No such message");
    return nullptr;
  }
  return &drop_[*n - 1];
}

// LIST and UIDL, for one message or all that are not deleted. A UIDL is
// the mailbox's UIDVALIDITY and the UID: what IMAP knows the message by.
void Pop3Session::cmd_list(const Command& c, bool uidl) {
  auto line = [&](size_t i) {
    char buf[48];
    if (uidl) snprintf(buf, sizeof buf, "%zu %08x%08x", i + 1, uidvalidity_, drop_[i].uid);
    else snprintf(buf, sizeof buf, "%zu %llu", i + 1, static_cast<unsigned long long>(drop_[i].size));
    return std::string(buf);
  };
  if (!c.args.empty()) {
    Message* m = message(c);
    if (m) reply("+OK " + line(static_cast<size_t>(m - drop_.data())));
    return;
  }
  std::string out = "+OK\r\n";
  for (size_t i = 0; i < drop_.size(); i++)
    if (!drop_[i].deleted) out += line(i) + "\r\n";
  conn_.write(out + ".\r\n");
}

// RETR n, TOP n lines: streamed from the store a chunk at a time as the
// socket drains, never the whole message in memory.
void Pop3Session::cmd_retr(const Command& c, bool top) {
  if (c.args.size() != (top ? 2u : 1u)) return reply(top ? "-ERR Syntax: TOP msg n" : "-ERR Syntax: RETR msg");
  auto lines = top ? number(c.args[1]) : std::optional<uint64_t>(0);
  if (!lines) return reply("-ERR Syntax: TOP msg n");
  Message* m = message(c);
  if (!m) return;
  // Expunged over IMAP since the snapshot: said, not sent.
  std::optional<uint64_t> end = worker_store()->read([&](store::Txn& t) -> std::optional<uint64_t> {
    auto body = t.message(mailbox_, m->uid) ? t.body(m->body_id) : std::nullopt;
    if (!body) return std::nullopt;
    return top ? top_end(*body, *lines) : body->size();
  });
  if (!end) return reply("-ERR [SYS/PERM] The message was deleted by another session");
  if (!top) m->retrieved = true;
  reply(top ? "+OK" : "+OK " + std::to_string(m->size) + " octets");
  sending_ = std::make_unique<Sending>(Sending{m->body_id, 0, *end, true});
  busy();
  send_more();
}

void Pop3Session::send_more() {
  Sending& s = *sending_;
  bool done = false, lost = false;
  worker_store()->read([&](store::Txn& t) {
    auto body = t.body(s.body_id);
    if (!body || s.end > body->size()) return lost = true;
    while (!conn_.output_full() && !done) {
      std::string_view piece = body->substr(s.next, std::min(kChunk, s.end - s.next));
      std::string out;
      conn_.write(stuff(piece, s.at_line_start, out) ? std::string_view(out) : piece);
      s.next += piece.size();
      done = s.next >= s.end || piece.empty();
    }
    return false;
  });
  if (lost) {
    reply("-ERR [SYS/PERM] The message went while it was being sent");
    state_ = State::closing;
    return conn_.close("message lost");
  }
  if (!done) return conn_.notify_when_writable();
  // RFC 1939 3: the response ends with CRLF "." CRLF.
  conn_.write(sending_->at_line_start ? ".\r\n" : "\r\n.\r\n");
  sending_.reset();
  ready();
}

void Pop3Session::on_writable() {
  if (sending_) send_more();
}

// QUIT in TRANSACTION enters UPDATE: one store transaction deletes what
// DELE marked and sets \Seen on what RETR sent; +OK once it is durable.
void Pop3Session::cmd_quit() {
  if (state_ != State::transaction) {
    reply("+OK Bye");
    state_ = State::closing;
    return conn_.close();
  }
  std::vector<std::pair<uint32_t, bool>> changes;  // (UID, delete or only seen)
  for (auto& m : drop_)
    if (m.deleted || m.retrieved) changes.emplace_back(m.uid, m.deleted);
  state_ = State::closing;
  busy();
  uint32_t mailbox = mailbox_;
  worker_store()->write(
      conn_.worker().loop(),
      [mailbox, changes](store::Txn& t) {
        for (auto [uid, del] : changes) {
          auto m = t.message(mailbox, uid);
          if (!m) continue;  // expunged meanwhile (IMAP): not counted twice
          auto s = del ? t.expunge(mailbox, uid)
                       : (m->flags & store::FLAG_SEEN) ? store::Status::ok
                                                       : t.set_flags(mailbox, uid, m->flags | store::FLAG_SEEN, m->keywords);
          if (s != store::Status::ok) return s;
        }
        return store::Status::ok;
      },
      [this, alive = alive_](store::Status s) {
        if (!*alive) return;
        reply(s == store::Status::ok ? "+OK Bye" : "-ERR [SYS/TEMP] Some deleted messages were not removed");
        conn_.close();
      });
}

}  // namespace gannet::pop3
