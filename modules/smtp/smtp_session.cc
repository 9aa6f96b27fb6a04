// The SMTP server state machine (RFC 5321), with PIPELINING, SIZE,
// 8BITMIME, SMTPUTF8, ENHANCEDSTATUSCODES, CHUNKING, DSN and STARTTLS.
#include "smtp_session.h"

#include <algorithm>
#include <charconv>

#include "core_module.h"
#include "cycle.h"
#include "log.h"
#include "store/store_module.h"
#include "worker.h"

namespace gannet::smtp {

namespace {

struct CommandRow {
  Verb verb;
  void (SmtpSession::*handle)(std::string_view);
};

// Adding a command is adding a row. Filter phases are raised by the
// handlers of HELO/EHLO, MAIL, RCPT and at the end of the message.
const CommandRow command_table[] = {
    {Verb::helo, &SmtpSession::cmd_helo},   {Verb::ehlo, &SmtpSession::cmd_ehlo},
    {Verb::mail, &SmtpSession::cmd_mail},   {Verb::rcpt, &SmtpSession::cmd_rcpt},
    {Verb::data, &SmtpSession::cmd_data},   {Verb::bdat, &SmtpSession::cmd_bdat},
    {Verb::rset, &SmtpSession::cmd_rset},   {Verb::noop, &SmtpSession::cmd_noop},
    {Verb::quit, &SmtpSession::cmd_quit},   {Verb::vrfy, &SmtpSession::cmd_vrfy},
    {Verb::expn, &SmtpSession::cmd_expn},   {Verb::help, &SmtpSession::cmd_help},
    {Verb::starttls, &SmtpSession::cmd_starttls}, {Verb::auth, &SmtpSession::cmd_auth},
};

constexpr size_t kMaxCommandLine = 510;  // 512 with CRLF
constexpr size_t kSpoolBlock = 16 << 10;  // DATA's lines go to the message buffer in blocks this big

const std::string& server_name(const Connection& c) { return *c.server().conf<MailSrvConf>(mail_module).server_name; }

}  // namespace

std::unique_ptr<Session> make_session(Connection& c) { return std::make_unique<SmtpSession>(c); }

SmtpSession::SmtpSession(Connection& c)
    : conn_(c), conf_(c.server().conf<SmtpConf>(smtp_module)), run_(Phase::connect, c, c.server(), envelope_), timer_(c.worker().loop()) {}

SmtpSession::~SmtpSession() {
  *alive_ = false;
  if (message_) message_->release();  // never one the store is committing: that one is the store's
}

void SmtpSession::start_timer(uint64_t ms, void (*cb)(uv_timer_t*)) { timer_.start(ms, this, cb); }

void SmtpSession::reply(std::string_view line) {
  if (!line.empty() && (line[0] == '4' || line[0] == '5')) errors_++;
  std::string out(line);
  out += "\r\n";
  conn_.write(out);
  if (errors_ > *conf_.max_errors && state_ != State::closing) {
    conn_.write("421 4.7.0 " + server_name(conn_) + " Error: too many errors\r\n");
    state_ = State::closing;
    conn_.close("too many errors");
  }
}

// --- the session's life ---

void SmtpSession::on_start() {
  envelope_.begin(conn_);
  run_filters(Phase::connect, conn_.peer(), [this] {
    if (*conf_.greeting_delay == 0) return greet();
    // Postscreen's pregreet test: a real client waits for the banner.
    state_ = State::greeting;
    start_timer(*conf_.greeting_delay, [](uv_timer_t* t) { static_cast<SmtpSession*>(t->data)->greet(); });
  });
}

void SmtpSession::greet() {
  state_ = State::fresh;
  reply("220 " + server_name(conn_) + " ESMTP Gannet");
}

bool SmtpSession::on_timeout() {
  conn_.write("421 4.4.2 " + server_name(conn_) + " Error: timeout exceeded\r\n");
  return false;
}

void SmtpSession::on_drain() {
  draining_ = true;
  if (state_ == State::fresh || state_ == State::ready || state_ == State::greeting) drain_or_continue();
}

// Between transactions, a draining session says goodbye.
void SmtpSession::drain_or_continue() {
  if (!draining_ || state_ == State::closing) return;
  conn_.write("421 4.3.2 " + server_name(conn_) + " Service shutting down, try again\r\n");
  state_ = State::closing;
  conn_.close("shutdown");
}

void SmtpSession::on_line(std::string_view line) {
  switch (state_) {
    case State::greeting:
      reply("554 5.5.1 Error: SMTP protocol synchronization (you spoke before the greeting)");
      state_ = State::closing;
      conn_.close("pregreet");
      return;
    case State::data: return data_line(line);
    case State::auth: return auth_step(line);
    case State::closing:
    case State::busy:
    case State::bdat: return;  // not reached: input is paused or bytes are read
    default: break;
  }
  if (line.size() > kMaxCommandLine) return reply("500 5.5.2 Error: line too long");
  if (line.find('\0') != std::string_view::npos) return reply("500 5.5.2 Error: NUL in command");
  Command cmd = parse_command(line);
  for (auto& row : command_table)
    if (row.verb == cmd.verb) return (this->*row.handle)(cmd.arg);
  reply("500 5.5.2 Error: command not recognized");
}

void SmtpSession::on_line_too_long(std::string_view) {
  if (state_ == State::data) data_.line_too_long();  // refused at the end of the message
  else if (state_ != State::closing) reply("500 5.5.2 Error: line too long");
}

// A filter's refusal in SMTP's words: 451 and 4.7.1 for later, 550 and
// 5.7.1 for never, unless the filter named its own status code.
static std::string verdict_reply(const Verdict& v) {
  bool later = v.kind == Verdict::tempfail;
  std::string status = v.status.empty() || v.status[0] != (later ? '4' : '5') ? (later ? "4.7.1" : "5.7.1") : v.status;
  return (later ? "451 " : "550 ") + status + " " + (v.text.empty() ? "Rejected by policy" : v.text);
}

// Pauses input while the filters of a phase decide; pipelined commands keep
// their order.
void SmtpSession::run_filters(Phase phase, std::string_view subject, std::function<void()> proceed) {
  State before = state_;
  state_ = State::busy;
  conn_.pause();
  run_.phase = phase;
  run_.argument = subject;
  run_.message = phase == Phase::message ? message_ : nullptr;
  run_.done = [this, before, phase, proceed = std::move(proceed)](PhaseRun& r, FilterStatus st) {
    state_ = before;
    if (st == FilterStatus::reject) {
      reply(verdict_reply(r.verdict));
      if (phase == Phase::message) {  // the message is refused: the transaction is over
        reset_transaction();
        drain_or_continue();
      }
    } else {
      proceed();
    }
    if (state_ != State::busy) conn_.resume();  // proceed may have handed the message to the store
  };
  run_phase(run_);
}

// --- greeting commands ---

void SmtpSession::begin_helo(std::string_view arg, bool esmtp) {
  if (arg.empty()) return reply(std::string("501 5.5.4 Syntax: ") + (esmtp ? "EHLO" : "HELO") + " hostname");
  std::string name(arg.substr(0, 255));
  run_filters(Phase::helo, name, [this, name, esmtp] {
    helo_ = name;
    envelope_.helo = name;
    esmtp_ = esmtp;
    reset_transaction();
    state_ = State::ready;
    if (!esmtp) return reply("250 " + server_name(conn_));
    std::string r = "250-" + server_name(conn_) + "\r\n";
    r += "250-PIPELINING\r\n";
    r += "250-SIZE " + std::to_string(*conf_.max_message_size) + "\r\n";
    if (conn_.can_start_tls()) r += "250-STARTTLS\r\n";
    if (*conf_.role == Role::submission && (conn_.is_tls() || *conf_.auth_plaintext) && user_.empty())
      r += "250-AUTH " + std::string(auth::kMechanisms) + "\r\n";
    if (*conf_.vrfy) r += "250-VRFY\r\n";
    r += "250-ENHANCEDSTATUSCODES\r\n250-8BITMIME\r\n250-SMTPUTF8\r\n250-CHUNKING\r\n250 DSN";
    reply(r);
  });
}

void SmtpSession::cmd_helo(std::string_view arg) { begin_helo(arg, false); }
void SmtpSession::cmd_ehlo(std::string_view arg) { begin_helo(arg, true); }

// --- the transaction ---

void SmtpSession::reset_transaction() {
  envelope_.new_transaction();
  run_.new_transaction();
  sender_ = {};
  params_ = {};
  rcpts_.clear();
  if (message_) message_->release();  // a store commit may still hold it
  message_.reset();
  spool_paused_ = false;
  too_big_ = bare_newline_ = long_line_ = chunking_ = false;
  chunk_size_ = 0;
  chunk_last_ = false;
  if (state_ == State::mail || state_ == State::data || state_ == State::bdat) state_ = State::ready;
}

void SmtpSession::cmd_mail(std::string_view arg) {
  if (state_ == State::fresh) return reply("503 5.5.1 Error: send HELO/EHLO first");
  if (state_ != State::ready) return reply("503 5.5.1 Error: nested MAIL command");
  if (*conf_.role == Role::submission && user_.empty()) return reply("530 5.7.0 Authentication required");
  Path path;
  MailParams params;
  if (auto err = parse_mail(arg, path, params)) return reply(std::to_string(err->code) + " " + err->text);
  if (!esmtp_ && (params.size || params.smtputf8 || params.body != MailParams::seven_bit || !params.ret.empty()))
    return reply("555 5.5.4 Error: parameters need EHLO");
  if (params.body == MailParams::binary_mime) return reply("555 5.5.4 Error: BODY=BINARYMIME is not supported");
  if (path.utf8 && !params.smtputf8) return reply("553 5.6.7 Error: non-ASCII address needs SMTPUTF8");
  if (params.size && *params.size > *conf_.max_message_size)
    return reply("552 5.3.4 Error: message size exceeds fixed limit");
  if (*conf_.role == Role::submission) {
    // A user sends only as an address of their own (theirs, or an alias of theirs).
    std::string from = store::normalize_address(path.address());
    bool owned = !path.null && worker_store()->read([&](store::Txn& t) {
      if (from == user_) return true;
      if (t.user(from)) return false;  // another user's address
      auto me = t.user(user_);
      std::vector<uint32_t> ids;
      return me && t.resolve(from, ids) == store::Status::ok && std::find(ids.begin(), ids.end(), me->id) != ids.end();
    });
    if (!owned) return reply("553 5.7.1 <" + path.address() + ">: Sender address rejected: not owned by user " + user_);
  }
  std::string subject = path.address();
  run_filters(Phase::mail_from, subject, [this, path = std::move(path), params = std::move(params)] {
    sender_ = path;
    params_ = params;
    envelope_.mail_from = sender_.address();
    state_ = State::mail;
    reply("250 2.1.0 Ok");
  });
}

void SmtpSession::cmd_rcpt(std::string_view arg) {
  if (state_ != State::mail) return reply("503 5.5.1 Error: need MAIL command");
  if (rcpts_.size() >= static_cast<size_t>(*conf_.max_recipients)) return reply("452 4.5.3 Error: too many recipients");
  Path path;
  RcptParams params;
  if (auto err = parse_rcpt(arg, path, params)) return reply(std::to_string(err->code) + " " + err->text);
  if (path.utf8 && !params_.smtputf8) return reply("553 5.6.7 Error: non-ASCII address needs SMTPUTF8");
  store::Store* st = worker_store();
  std::string domain = path.domain;
  Recipient r;
  r.notify = store::notify_bits(params.notify);
  r.orcpt = params.orcpt;
  std::string reject;
  st->read([&](store::Txn& t) {
    if (domain.empty()) domain = t.domains().empty() ? "" : t.domains().front();  // <Postmaster>
    if (!t.has_domain(domain)) {
      if (user_.empty()) reject = "554 5.7.1 <" + path.address() + ">: Relay access denied";
      else r.address = store::normalize_remote_address(path.local + "@" + domain);  // remote: local part kept
      if (!user_.empty() && r.address.empty()) reject = "501 5.1.3 Bad recipient address syntax";
      return 0;
    }
    std::string addr = store::normalize_address(path.local + "@" + domain);
    if (addr.empty() || t.resolve(addr, r.user_ids) != store::Status::ok) {
      reject = "550 5.1.1 <" + path.address() + ">: Recipient address rejected: User unknown";
      return 0;
    }
    for (uint32_t id : r.user_ids) {
      auto u = t.user_by_id(id);
      if (u && !u->has_room_for(1))  // full: not even the smallest message fits
        reject = "452 4.2.2 <" + path.address() + ">: Mailbox full";
    }
    r.address = addr;
    return 0;
  });
  if (!reject.empty()) return reply(reject);
  std::string subject = r.address;
  run_filters(Phase::rcpt_to, subject, [this, r = std::move(r)]() mutable {
    envelope_.rcpts.push_back(r.address);
    rcpts_.push_back(std::move(r));
    reply("250 2.1.5 Ok");
  });
}

void SmtpSession::cmd_data(std::string_view arg) {
  if (!arg.empty()) return reply("501 5.5.4 Syntax: DATA");
  if (state_ != State::mail || rcpts_.empty()) return reply("503 5.5.1 Error: need RCPT command");
  if (chunking_) return reply("503 5.5.1 Error: DATA after BDAT");
  state_ = State::data;
  conn_.set_line_end(kDataLineEnd);
  begin_message();
  data_.start(*conf_.max_message_size);
  reply("354 End data with <CR><LF>.<CR><LF>");
}

// The message's buffer, with the Received field in front; the size limit
// counts only what the client sends.
void SmtpSession::begin_message() {
  const auto& mail = conn_.server().conf<MailSrvConf>(mail_module);
  message_ = mail::MessageBuffer::create(conn_.worker().loop(), worker_store_dir(), *mail.message_buffer_size);
  message_->set_front(trace_headers());
}

// Hands octets of the message on; while its spool file is behind the
// client, the client waits (the connection stops reading).
void SmtpSession::spool(std::string_view bytes) {
  message_->append(bytes);
  if (spool_paused_ || !message_->backlogged()) return;
  spool_paused_ = true;
  conn_.pause();
  message_->on_room([this] {
    if (!spool_paused_) return;
    spool_paused_ = false;
    conn_.resume();
  });
}

// One line of DATA; the rules (end, unstuffing, smuggling, size) are
// DataBody's (smtp_data.h). At the end its verdict becomes the
// transaction's, which BDAT shares.
void SmtpSession::data_line(std::string_view line) {
  bool end = data_.line(line);
  // A block at a time: a line at a time would cost a call per line.
  if (data_.too_big()) {
    message_->drop();
  } else if (end || data_.message().size() >= kSpoolBlock) {
    spool(data_.message());
    data_.taken();
  }
  if (!end) return;
  conn_.set_line_end(kCommandLineEnd);
  too_big_ = data_.too_big();
  bare_newline_ = data_.bare_newline();
  long_line_ = data_.long_line();
  end_of_message();
}

// BDAT size [LAST] (RFC 3030): the chunk is read as bytes, never as lines.
// A chunk that cannot be accepted is still read, and dropped, so the
// stream stays in step.
void SmtpSession::cmd_bdat(std::string_view arg) {
  uint64_t size = 0;
  auto space = arg.find(' ');
  std::string_view num = arg.substr(0, space), rest = space == std::string_view::npos ? "" : arg.substr(space + 1);
  auto [p, ec] = std::from_chars(num.data(), num.data() + num.size(), size);
  bool last = rest == "LAST" || rest == "last";
  if (ec != std::errc() || p != num.data() + num.size() || num.empty() || (!rest.empty() && !last)) {
    reply("501 5.5.4 Syntax: BDAT size [LAST]");
    state_ = State::closing;  // the chunk's length is unknown: the stream cannot be followed
    conn_.close("bad BDAT");
    return;
  }
  bool ok = state_ == State::mail && !rcpts_.empty();
  if (!ok) reply("503 5.5.1 Error: need RCPT command");
  chunk_drop_ = !ok;
  drop_state_ = state_;
  chunk_last_ = last;
  chunk_size_ = size;
  if (ok) {
    if (!chunking_) begin_message();
    chunking_ = true;
    if (!too_big_ && message_->body_size() + size > *conf_.max_message_size) {
      too_big_ = true;
      message_->drop();
    }
  }
  state_ = State::bdat;
  if (size == 0) return chunk_done();
  conn_.read_bytes(size);
}

void SmtpSession::on_bytes(std::string_view chunk, bool last) {
  if (!chunk_drop_ && !too_big_) spool(chunk);
  if (last) chunk_done();
}

void SmtpSession::chunk_done() {
  if (chunk_drop_) {
    state_ = drop_state_;
    return;
  }
  state_ = State::mail;
  if (chunk_last_) return end_of_message();
  if (too_big_) {
    reply("552 5.3.4 Error: message size exceeds fixed limit");
    reset_transaction();
    return drain_or_continue();
  }
  reply("250 2.0.0 " + std::to_string(chunk_size_) + " octets received");
}

void SmtpSession::end_of_message() {
  state_ = State::mail;
  std::string err;
  if (too_big_) err = "552 5.3.4 Error: message size exceeds fixed limit";
  else if (bare_newline_) err = "550 5.5.2 Error: bare <CR> or <LF> received; lines must end with <CR><LF>";
  else if (long_line_) err = "500 5.5.2 Error: line too long (at most 998 characters and CRLF)";
  if (!err.empty()) {
    reply(err);
    reset_transaction();
    return drain_or_continue();
  }
  // Every octet on disk (if it went there) before the filters read it.
  state_ = State::busy;
  conn_.pause();
  message_->finish([this](const std::string& spool_error) {
    state_ = State::mail;
    if (!spool_error.empty()) {
      GLOG(Level::error, "%s: %s", message_id_.c_str(), spool_error.c_str());
      reply("451 4.3.0 Error: could not store the message, try again later");
      reset_transaction();
      conn_.resume();
      return drain_or_continue();
    }
    run_filters(Phase::message, {}, [this] { store_message(); });
  });
}

void SmtpSession::cmd_rset(std::string_view) {
  if (state_ != State::fresh) reset_transaction();
  reply("250 2.0.0 Ok");
  drain_or_continue();
}

void SmtpSession::cmd_noop(std::string_view) { reply("250 2.0.0 Ok"); }

void SmtpSession::cmd_quit(std::string_view) {
  reply("221 2.0.0 Bye");
  state_ = State::closing;
  conn_.close();
}

void SmtpSession::cmd_vrfy(std::string_view) {
  // Answering would let anyone list our users: 252 as RFC 5321 3.5.3 allows.
  reply("252 2.0.0 Send some mail, I'll try my best");
}

void SmtpSession::cmd_expn(std::string_view) { reply("502 5.5.1 Error: command not implemented"); }

void SmtpSession::cmd_help(std::string_view) { reply("214 2.0.0 See RFC 5321"); }

void SmtpSession::cmd_starttls(std::string_view arg) {
  if (!arg.empty()) return reply("501 5.5.4 Syntax: STARTTLS");
  if (!conn_.can_start_tls()) return reply("454 4.7.0 TLS not available");
  reply("220 2.0.0 Ready to start TLS");
  conn_.start_tls();  // drops whatever the client pipelined after the command
  // RFC 3207 4.2: forget everything learned before TLS.
  envelope_.begin(conn_);
  envelope_.tls = true;
  helo_.clear();
  esmtp_ = false;
  reset_transaction();
  state_ = State::fresh;
}

}  // namespace gannet::smtp
