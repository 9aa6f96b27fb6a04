// The IMAP session (RFC 3501, RFC 9051): gathering commands, the
// not-authenticated and authenticated states, mailbox selection and LIST.
// FETCH is imap_fetch.cc.
#include "mail/lexer.h"
#include "imap_session.h"

#include "core_module.h"
#include "imap_view.h"
#include "log.h"
#include "store/mutf7.h"
#include "store/store_module.h"
#include "worker.h"

namespace gannet::imap {

using mail::iequals;

namespace {

using State = ImapSession::State;
constexpr uint8_t kAny = 1 | 2 | 4;
constexpr uint8_t kAuthed = 2 | 4;
constexpr uint64_t kAutologout = 31 * 60 * 1000;  // ms; a minute past the RFC's 30

struct CommandRow {
  std::string_view name;
  uint8_t states;  // State bits the command is allowed in
  void (ImapSession::*handle)(const Command&);
};

// Adding a command is adding a row.
const CommandRow command_table[] = {
    {"CAPABILITY", kAny, &ImapSession::cmd_capability},
    {"NOOP", kAny, &ImapSession::cmd_noop},
    {"LOGOUT", kAny, &ImapSession::cmd_logout},
    {"ID", kAny, &ImapSession::cmd_id},
    {"STARTTLS", 1, &ImapSession::cmd_starttls},
    {"LOGIN", 1, &ImapSession::cmd_login},
    {"AUTHENTICATE", 1, &ImapSession::cmd_authenticate},
    {"ENABLE", kAuthed, &ImapSession::cmd_enable},
    {"NAMESPACE", kAuthed, &ImapSession::cmd_namespace},
    {"COMPRESS", kAuthed, &ImapSession::cmd_compress},
    {"SELECT", kAuthed, &ImapSession::cmd_select},
    {"EXAMINE", kAuthed, &ImapSession::cmd_select},
    {"LIST", kAuthed, &ImapSession::cmd_list},
    {"LSUB", kAuthed, &ImapSession::cmd_lsub},
    {"CREATE", kAuthed, &ImapSession::cmd_create},
    {"DELETE", kAuthed, &ImapSession::cmd_delete},
    {"RENAME", kAuthed, &ImapSession::cmd_rename},
    {"SUBSCRIBE", kAuthed, &ImapSession::cmd_subscribe},
    {"UNSUBSCRIBE", kAuthed, &ImapSession::cmd_subscribe},
    {"STATUS", kAuthed, &ImapSession::cmd_status},
    {"GETQUOTA", kAuthed, &ImapSession::cmd_quota},
    {"GETQUOTAROOT", kAuthed, &ImapSession::cmd_quota},
    {"SETQUOTA", kAuthed, &ImapSession::cmd_quota},
    {"APPEND", kAuthed, &ImapSession::cmd_append},
    {"IDLE", kAuthed, &ImapSession::cmd_idle},
    {"STORE", 4, &ImapSession::cmd_store},
    {"UID STORE", 4, &ImapSession::cmd_store},
    {"EXPUNGE", 4, &ImapSession::cmd_expunge},
    {"UID EXPUNGE", 4, &ImapSession::cmd_expunge},
    {"COPY", 4, &ImapSession::cmd_copy},
    {"UID COPY", 4, &ImapSession::cmd_copy},
    {"MOVE", 4, &ImapSession::cmd_copy},
    {"UID MOVE", 4, &ImapSession::cmd_copy},
    {"CHECK", 4, &ImapSession::cmd_noop},
    {"CLOSE", 4, &ImapSession::cmd_close},
    {"UNSELECT", 4, &ImapSession::cmd_close},
    {"FETCH", 4, &ImapSession::cmd_fetch},
    {"UID FETCH", 4, &ImapSession::cmd_fetch},
    {"SEARCH", 4, &ImapSession::cmd_search},
    {"UID SEARCH", 4, &ImapSession::cmd_search},
};

}  // namespace

std::unique_ptr<Session> make_session(Connection& c) { return std::make_unique<ImapSession>(c); }

ImapSession::ImapSession(Connection& c)
    : conn_(c), conf_(c.server().conf<ImapConf>(imap_module)), timer_(c.worker().loop()) {}

ImapSession::~ImapSession() {
  *alive_ = false;
  if (idle_token_) worker_change_feed().unsubscribe(*idle_token_);
  drop_appends();
}

void ImapSession::send(std::string_view text) {
  std::string out(text);
  out += "\r\n";
  conn_.write(out);
}

void ImapSession::tagged(const Command& c, std::string_view status_and_text) { tagged(c.tag, c.name, status_and_text); }

// RFC 3501 7.4.1: no EXPUNGE while answering FETCH, STORE or SEARCH (their
// UID forms may have them: UIDs do not shift).
void ImapSession::tagged(const std::string& tag, const std::string& name, std::string_view status_and_text) {
  if (view_) sync(name != "FETCH" && name != "STORE" && name != "SEARCH");
  send(tag + " " + std::string(status_and_text));
}

void ImapSession::bad(std::string_view tag, std::string_view text) {
  send(std::string(tag.empty() ? "*" : tag) + " BAD " + std::string(text));
}

void ImapSession::busy() {
  busy_ = true;
  conn_.pause();
}

void ImapSession::ready() {
  busy_ = false;
  conn_.resume();
}

bool ImapSession::may_log_in() const { return conn_.is_tls() || *conf_.auth_plaintext; }

std::string ImapSession::capabilities() const {
  std::string caps =
      "IMAP4rev1 IMAP4rev2 LITERAL+ SASL-IR ID ENABLE NAMESPACE UNSELECT UIDPLUS MOVE IDLE CHILDREN SPECIAL-USE "
      "CREATE-SPECIAL-USE CONDSTORE QRESYNC QUOTA QUOTA=RES-STORAGE QUOTA=RES-MESSAGE STATUS=SIZE UTF8=ACCEPT "
      "ESEARCH SEARCHRES LIST-EXTENDED LIST-STATUS BINARY COMPRESS=DEFLATE "
      "APPENDLIMIT=" + std::to_string(*conf_.max_literal);
  if (state_ != State::not_authenticated) return caps;
  if (conn_.can_start_tls()) caps += " STARTTLS";
  if (!may_log_in()) return caps + " LOGINDISABLED";
  std::string_view mechs = auth::kMechanisms;
  while (!mechs.empty()) {
    auto sp = mechs.find(' ');
    caps += " AUTH=" + std::string(mechs.substr(0, sp));
    mechs = sp == std::string_view::npos ? std::string_view() : mechs.substr(sp + 1);
  }
  return caps;
}

// --- the session's life ---

void ImapSession::on_start() { send("* OK [CAPABILITY " + capabilities() + "] Gannet ready."); }

bool ImapSession::on_timeout() {
  send("* BYE Autologout; idle for too long");
  return false;
}

void ImapSession::on_drain() {
  if (busy_ || !cmd_.empty()) return;  // at the next command boundary
  send("* BYE Server shutting down");
  state_ = State::logout;
  conn_.close("shutdown");
}

// A command arrives as lines, each but the last ending in a literal's
// announcement; the literal's octets come through on_bytes.
void ImapSession::on_line(std::string_view line) {
  if (state_ == State::logout) return;
  if (!idle_tag_.empty()) return idle_done(line);
  if (auth_ && !busy_) {  // a response inside AUTHENTICATE
    busy();
    return auth_->step(line, [this](auth::Exchange::Result r) { auth_result(r); });
  }
  if (skip_) {  // the rest of a command that was too long
    bool bad_literal = false;
    if (!literal_at_end(line, &bad_literal)) skip_ = false;
    return;
  }
  cmd_.append(line);
  std::string tag = cmd_.substr(0, cmd_.find(' '));
  if (cmd_.size() > *conf_.max_command) {
    drop_command();
    bool bad_literal = false;
    skip_ = literal_at_end(line, &bad_literal).has_value();  // its lines go too
    return bad(tag, "Command too long");
  }
  bool bad_literal = false;
  auto lit = literal_at_end(line, &bad_literal);
  if (bad_literal) {
    drop_command();
    return bad(tag, "Invalid literal");
  }
  if (!lit) {
    std::string wire;
    wire.swap(cmd_);
    return run(wire);
  }
  // Only an APPEND's message may be as big as imap_max_literal_size: it
  // streams to a MessageBuffer. Any other literal (a password, a mailbox
  // name, a search string) joins the command and counts in its limit, so
  // no client, logged in or not, makes the worker hold more than that.
  bool message = literal_is_message(line);
  uint64_t room = message ? *conf_.max_literal : *conf_.max_command - std::min<uint64_t>(cmd_.size(), *conf_.max_command);
  if (lit->size > room) {
    drop_command();
    if (lit->sync) return send(tag + " NO [TOOBIG] Literal too big");
    // A non-synchronising literal is already on its way: the stream
    // cannot be followed without reading it all.
    send("* BYE [TOOBIG] Literal too big");
    state_ = State::logout;
    return conn_.close("literal too big");
  }
  if (message) begin_message_literal(line, lit->size);
  else cmd_ += "\r\n";
  if (lit->sync) send("+ Ready for literal data");
  if (lit->size > 0) conn_.read_bytes(lit->size);
}

void ImapSession::on_bytes(std::string_view chunk, bool) {
  if (literal_left_ > 0) return message_bytes(chunk);
  cmd_.append(chunk);
}

void ImapSession::drop_command() {
  cmd_.clear();
  drop_appends();
}

// The tag is the line's first word, or the command's if the line
// continues one after a literal.
void ImapSession::on_line_too_long(std::string_view head) {
  std::string_view start = cmd_.empty() ? head : std::string_view(cmd_);
  std::string tag(start.substr(0, std::min(start.find(' '), size_t{64})));
  drop_command();
  bad(tag, "Line too long");
}

void ImapSession::run(const std::string& wire) {
  Command c;
  if (auto err = parse_command(wire, c)) {
    drop_appends();
    return bad(c.tag, *err);
  }
  if (!appends_.empty() && c.name != "APPEND") drop_appends();
  for (auto& row : command_table) {
    if (row.name != c.name) continue;
    if (!(row.states & static_cast<uint8_t>(state_))) {
      drop_appends();
      return tagged(c, state_ == State::not_authenticated ? "BAD Log in first"
                       : state_ == State::authenticated   ? "BAD Select a mailbox first"
                                                          : "BAD Not allowed now");
    }
    return (this->*row.handle)(c);
  }
  drop_appends();
  tagged(c, "BAD Unknown command");
}

// --- any state ---

void ImapSession::cmd_capability(const Command& c) {
  send("* CAPABILITY " + capabilities());
  tagged(c, "OK Capability completed");
}

void ImapSession::cmd_noop(const Command& c) { tagged(c, "OK " + c.name + " completed"); }

void ImapSession::cmd_logout(const Command& c) {
  send("* BYE Logging out");
  tagged(c, "OK Logout completed");
  state_ = State::logout;
  conn_.close();
}

void ImapSession::cmd_id(const Command& c) {
  send("* ID (\"name\" \"Gannet\")");
  tagged(c, "OK ID completed");
}

// --- not authenticated ---

void ImapSession::cmd_starttls(const Command& c) {
  if (!c.args.empty()) return tagged(c, "BAD STARTTLS takes no arguments");
  if (!conn_.can_start_tls()) return tagged(c, "BAD TLS not available");
  tagged(c, "OK Begin TLS negotiation now");
  conn_.start_tls();  // drops whatever the client pipelined after the command
}

void ImapSession::cmd_login(const Command& c) {
  if (c.args.size() != 2 || !c.args[0].is_string() || !c.args[1].is_string())
    return tagged(c, "BAD Syntax: LOGIN user password");
  if (!may_log_in()) return tagged(c, "NO [PRIVACYREQUIRED] Use STARTTLS first");
  busy();
  std::string tag = c.tag, name = c.args[0].text;
  auth::check_password(conn_.worker().loop(), name, c.args[1].text, alive_,
                       [this, tag, name](const std::string& user) {
                         if (user.empty()) return login_failed(tag, "LOGIN", name);
                         logged_in(tag, user);
                       });
}

void ImapSession::cmd_authenticate(const Command& c) {
  if (c.args.empty() || c.args.size() > 2 || c.args[0].kind != Arg::Kind::atom)
    return tagged(c, "BAD Syntax: AUTHENTICATE mechanism [initial-response]");
  if (!may_log_in()) return tagged(c, "NO [PRIVACYREQUIRED] Use STARTTLS first");
  auth_ = auth::Exchange::start(c.args[0].text, conn_.worker().loop());
  if (!auth_) return tagged(c, "NO Unsupported authentication mechanism");
  std::optional<std::string_view> initial;
  if (c.args.size() == 2) initial = c.args[1].text;
  auth_tag_ = c.tag;
  busy();
  auth_->begin(initial, [this](auth::Exchange::Result r) { auth_result(r); });
}

void ImapSession::auth_result(auth::Exchange::Result r) {
  using R = auth::Exchange::Result;
  std::string tag = std::move(auth_tag_);
  switch (r) {
    case R::challenge:
      auth_tag_ = std::move(tag);
      send("+ " + auth_->challenge());
      return ready();
    case R::ok: {
      std::string user = auth_->user();
      auth_.reset();
      return logged_in(tag, user);
    }
    case R::failed: {
      auto ex = std::move(auth_);
      return login_failed(tag, ex->mechanism(), ex->name(), ex->why());
    }
    case R::malformed: send(tag + " BAD Invalid response"); break;
    case R::aborted: send(tag + " BAD Authentication cancelled"); break;
    case R::authz: send(tag + " NO [AUTHORIZATIONFAILED] Authorization identity differs"); break;
    case R::temporary: send(tag + " NO [UNAVAILABLE] Temporary authentication failure"); break;
  }
  auth_.reset();
  ready();
}

void ImapSession::logged_in(const std::string& tag, const std::string& user) {
  auto u = auth::enabled_user(user);
  if (!u) {  // removed or disabled while its password was checked
    send(tag + " NO [AUTHENTICATIONFAILED] Authentication failed");
    return ready();
  }
  user_ = u->address;
  user_id_ = u->id;
  conn_.set_user(user_);
  // RFC 9051 5.4: a logged-in client may stay silent (IDLE) for 30 minutes.
  conn_.set_idle_timeout(kAutologout);
  state_ = State::authenticated;
  send(tag + " OK [CAPABILITY " + capabilities() + "] Logged in");
  ready();
}

// Slow down guessing: the answer, and the next command, wait.
void ImapSession::login_failed(const std::string& tag, std::string_view mech, std::string_view name, const char* why) {
  auth::log_failure("imap", mech, name, conn_.peer(), why);
  auth_tag_ = tag;
  timer_.start(*conf_.auth_failure_delay, this, [](uv_timer_t* t) {
    auto* s = static_cast<ImapSession*>(t->data);
    s->send(s->auth_tag_ + " NO [AUTHENTICATIONFAILED] Authentication failed");
    s->auth_tag_.clear();
    s->ready();
  });
}

// --- authenticated ---

// RFC 5161: what is not known is ignored; QRESYNC implies CONDSTORE.
void ImapSession::cmd_enable(const Command& c) {
  std::string enabled;
  for (auto& a : c.args) {
    if (a.is("CONDSTORE") && !condstore_) {
      condstore_ = true;
      enabled += " CONDSTORE";
    } else if (a.is("QRESYNC") && !qresync_) {
      qresync_ = condstore_ = true;
      enabled += " QRESYNC";
    } else if (a.is("IMAP4REV2") && !rev2_) {
      rev2_ = utf8_ = true;  // RFC 9051: ESEARCH answers, no RECENT, UTF-8 mailbox names
      enabled += " IMAP4rev2";
    } else if (a.is("UTF8=ACCEPT") && !utf8_) {
      utf8_ = true;  // mailbox names and strings in UTF-8 (RFC 6855)
      enabled += " UTF8=ACCEPT";
    }
  }
  send("* ENABLED" + enabled);
  tagged(c, "OK ENABLE completed");
}

// COMPRESS DEFLATE (RFC 4978): the OK goes as it is, all after it
// compressed, both ways.
void ImapSession::cmd_compress(const Command& c) {
  if (c.args.size() != 1 || !c.args[0].is("DEFLATE")) return tagged(c, "BAD Syntax: COMPRESS DEFLATE");
  if (conn_.compressing()) return tagged(c, "NO [COMPRESSIONACTIVE] Already compressing");
  tagged(c, "OK DEFLATE active");
  if (!conn_.start_compression()) {
    send("* BYE Compression failed to start");
    state_ = State::logout;
    conn_.close("compression failed");
  }
}

void ImapSession::cmd_namespace(const Command& c) {
  send("* NAMESPACE ((\"\" \"/\")) NIL NIL");
  tagged(c, "OK NAMESPACE completed");
}

std::optional<std::string> ImapSession::mailbox_name(const Arg& a) const {
  if (!a.is_string()) return std::nullopt;
  auto name = utf8_ ? (valid_utf8(a.text) ? std::optional<std::string>(a.text) : std::nullopt)
                    : store::mutf7_decode(a.text);
  // INBOX is INBOX in any case, and so is it as the parent of others.
  if (name && iequals(name->substr(0, 5), "INBOX") && (name->size() == 5 || (*name)[5] == '/'))
    name->replace(0, 5, "INBOX");
  return name;
}

void ImapSession::cmd_list(const Command& c) { list(c, false); }
void ImapSession::cmd_lsub(const Command& c) { list(c, true); }

void ImapSession::cmd_select(const Command& c) {
  bool examine = c.name == "EXAMINE";
  // A failed SELECT leaves no mailbox selected (RFC 3501 6.3.1); the
  // client learns where the old one's responses end (RFC 7162 3.2.11).
  if (view_) send("* OK [CLOSED] Previous mailbox closed");
  view_.reset();
  state_ = State::authenticated;
  if (c.args.size() != 1 && c.args.size() != 2) return tagged(c, "BAD Syntax: " + c.name + " mailbox [(parameters)]");
  std::optional<Resync> resync;
  if (c.args.size() == 2) {
    auto err = select_params(c.args[1], resync);
    if (!err.empty()) return tagged(c, "BAD " + err);
  }
  auto name = mailbox_name(c.args[0]);
  if (!name) return tagged(c, "NO [NONEXISTENT] Invalid mailbox name");
  auto view = std::make_unique<View>();
  bool found = worker_store()->read([&](store::Txn& t) {
    auto mb = t.mailbox(user_id_, *name);
    if (!mb) return false;
    view->load(t, *mb, examine);
    return true;
  });
  if (!found) return tagged(c, "NO [NONEXISTENT] Mailbox doesn't exist");
  view_ = std::move(view);
  state_ = State::selected;
  send("* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)");
  send(examine ? "* OK [PERMANENTFLAGS ()] Read-only mailbox"
               : "* OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft \\*)] Flags permitted");
  send("* " + std::to_string(view_->uids.size()) + " EXISTS");
  if (rev2_) send("* LIST () \"/\" " + astring(utf8_ ? view_->name : store::mutf7_encode(view_->name).value_or(view_->name)));
  else send("* 0 RECENT");
  send("* OK [HIGHESTMODSEQ " + std::to_string(view_->modseq) + "] Highest");
  if (view_->first_unseen) send("* OK [UNSEEN " + std::to_string(view_->first_unseen) + "] First unseen");
  send("* OK [UIDVALIDITY " + std::to_string(view_->uidvalidity) + "] UIDs valid");
  send("* OK [UIDNEXT " + std::to_string(view_->uidnext) + "] Predicted next UID");
  if (resync) resynchronise(*resync);
  tagged(c, examine ? "OK [READ-ONLY] EXAMINE completed" : "OK [READ-WRITE] SELECT completed");
}

// CLOSE expunges what is marked \Deleted, silently; UNSELECT does not.
void ImapSession::cmd_close(const Command& c) {
  auto view = std::move(view_);
  state_ = State::authenticated;
  if (c.name == "UNSELECT" || view->read_only) return tagged(c, "OK " + c.name + " completed");
  busy();
  uint32_t mailbox = view->mailbox_id;
  std::string tag = c.tag;
  worker_store()->write(
      conn_.worker().loop(),
      [mailbox](store::Txn& t) {
        for (auto& m : t.messages(mailbox))
          if (m.flags & store::FLAG_DELETED)
            if (auto s = t.expunge(mailbox, m.uid); s != store::Status::ok) return s;
        return store::Status::ok;
      },
      [this, alive = alive_, tag](store::Status s) {
        if (!*alive) return;
        tagged(tag, "CLOSE", s == store::Status::ok ? "OK CLOSE completed" : "NO [SERVERBUG] Could not expunge");
        ready();
      });
}

void ImapSession::cmd_fetch(const Command& c) { fetch(c, c.name == "UID FETCH"); }

}  // namespace gannet::imap
