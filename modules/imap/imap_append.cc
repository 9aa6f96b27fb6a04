// APPEND and MULTIAPPEND (RFC 3501 6.3.11, RFC 3502, RFC 4315 APPENDUID).
// A message's literal never joins the command: its octets stream into a
// MessageBuffer as they come (spilled to a file past message_buffer_size,
// as SMTP's DATA), and the command holds an empty literal in its place.
#include <ctime>

#include "core_module.h"
#include "imap_flags.h"
#include "imap_session.h"
#include "imap_view.h"
#include "mail/message_buffer.h"
#include "store/store_module.h"
#include "worker.h"

namespace gannet::imap {

namespace {

// date-time = DQUOTE date-day-fixed "-" date-month "-" date-year SP time SP zone DQUOTE
std::optional<int64_t> parse_date_time(std::string_view s) {
  static const char* const months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                       "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  int day = 0, year = 0, hh = 0, mm = 0, ss = 0, zone = 0;
  char mon[4] = {}, sign = 0;
  int n = 0;
  std::string str(s);  // " 1-Jan-2026 ..." or "01-Jan-2026 ...": %2d takes either
  if (sscanf(str.c_str(), "%2d-%3c-%4d %2d:%2d:%2d %c%4d%n", &day, mon, &year, &hh, &mm, &ss, &sign, &zone, &n) != 8 ||
      n != static_cast<int>(str.size()) || (sign != '+' && sign != '-'))
    return std::nullopt;
  int month = -1;
  for (int i = 0; i < 12; i++)
    if (strncasecmp(mon, months[i], 3) == 0) month = i;
  if (month < 0 || day < 1 || day > 31 || year < 1970 || hh > 23 || mm > 59 || ss > 60 || zone % 100 > 59)
    return std::nullopt;
  tm t{};
  t.tm_year = year - 1900;
  t.tm_mon = month;
  t.tm_mday = day;
  t.tm_hour = hh;
  t.tm_min = mm;
  t.tm_sec = ss;
  int64_t offset = (zone / 100 * 3600 + zone % 100 * 60) * (sign == '-' ? -1 : 1);
  return static_cast<int64_t>(timegm(&t)) - offset;
}

}  // namespace

// A literal about to come: is it an APPEND's message? Yes when the
// command so far is an APPEND that already names its mailbox.
bool ImapSession::literal_is_message(std::string_view line) const {
  std::string_view before = std::string_view(cmd_).substr(0, cmd_.size() - (line.size() - line.rfind('{')));
  while (!before.empty() && before.back() == ' ') before.remove_suffix(1);
  Command c;
  if (parse_command(before, c) || c.name != "APPEND") return false;
  return !c.args.empty() && state_ != State::not_authenticated;
}

void ImapSession::begin_message_literal(std::string_view line, uint64_t size) {
  cmd_.resize(cmd_.size() - (line.size() - line.rfind('{')));
  cmd_ += "{0}\r\n";  // the message's place in the command
  const auto& mail = conn_.server().conf<MailSrvConf>(mail_module);
  auto m = mail::MessageBuffer::create(conn_.worker().loop(), worker_store_dir(), *mail.message_buffer_size);
  appends_.push_back(m);
  literal_left_ = size;
}

// The literal's octets go to its buffer; while the spool file lags, the
// client waits.
void ImapSession::message_bytes(std::string_view chunk) {
  auto& m = *appends_.back();
  m.append(chunk);
  literal_left_ -= chunk.size();
  if (!m.backlogged() || paused_for_spool_) return;
  paused_for_spool_ = true;
  conn_.pause();
  m.on_room([this] {
    if (!paused_for_spool_) return;
    paused_for_spool_ = false;
    conn_.resume();
  });
}

void ImapSession::drop_appends() {
  for (auto& m : appends_) m->release();
  appends_.clear();
  paused_for_spool_ = false;
}

struct ImapSession::Appended {
  std::shared_ptr<mail::MessageBuffer> message;
  uint32_t flags = 0;
  std::vector<std::string> keywords;
  int64_t date = 0;
  std::string meta;
};

void ImapSession::cmd_append(const Command& c) {
  auto messages = std::move(appends_);
  appends_.clear();
  auto fail = [&](std::string_view text) {
    for (auto& m : messages) m->release();
    tagged(c, text);
  };
  auto name = c.args.empty() ? std::nullopt : mailbox_name(c.args[0]);
  if (!name) return fail("BAD Syntax: APPEND mailbox [(flags)] [date-time] literal");
  // Groups of [(flags)] [date-time] message, each message one buffer.
  auto batch = std::make_shared<std::vector<Appended>>();
  size_t next = 0;
  for (size_t i = 1; i < c.args.size();) {
    Appended a;
    a.date = time(nullptr);
    if (c.args[i].kind == Arg::Kind::list) {
      if (!parse_flags(c.args[i], a.flags, a.keywords)) return fail("BAD Invalid flag");
      i++;
    }
    if (i < c.args.size() && c.args[i].kind == Arg::Kind::string && !c.args[i].text.empty()) {
      auto d = parse_date_time(c.args[i].text);
      if (!d) return fail("BAD Invalid date-time");
      a.date = *d;
      i++;
    }
    if (i >= c.args.size() || c.args[i].kind != Arg::Kind::string || !c.args[i].text.empty() || next >= messages.size())
      return fail("BAD Syntax: APPEND mailbox [(flags)] [date-time] literal");
    a.message = messages[next++];
    if (a.message->size() == 0) return fail("NO Cannot append an empty message");
    batch->push_back(std::move(a));
    i++;
  }
  if (batch->empty() || next != messages.size()) return fail("BAD Syntax: APPEND mailbox [(flags)] [date-time] literal");
  auto mb = worker_store()->read([&](store::Txn& t) { return t.mailbox(user_id_, *name); });
  if (!mb) return fail("NO [TRYCREATE] No such mailbox");
  busy();
  // Every octet on disk, then one store write for them all.
  auto waiting = std::make_shared<size_t>(batch->size());
  auto error = std::make_shared<std::string>();
  std::string tag = c.tag;
  for (auto& a : *batch)
    a.message->finish([this, alive = alive_, waiting, error, batch, tag, mb = *mb](const std::string& err) {
      if (!err.empty()) *error = err;
      if (--*waiting > 0 || !*alive) return;
      if (!error->empty()) {
        for (auto& x : *batch) x.message->release();
        tagged(tag, "APPEND", "NO [SERVERBUG] Could not store the message");
        return ready();
      }
      store_appended(tag, mb.id, mb.uidvalidity, batch);
    });
}

void ImapSession::store_appended(const std::string& tag, uint32_t mailbox, uint32_t validity,
                                 std::shared_ptr<std::vector<Appended>> batch) {
  auto uids = std::make_shared<std::vector<uint32_t>>();
  auto prepare = [batch] {
    for (auto& a : *batch) a.meta = mail::encode_meta(a.message->parse());
  };
  auto op = [batch, mailbox, uids](store::Txn& t) {
    uids->clear();
    for (auto& a : *batch) {
      auto& m = a.message;
      uint64_t body = 0;
      store::BodySource src(m->size(), [m](char* dst) { return m->read(0, m->size(), dst); });
      if (auto s = t.put_body(src, a.meta, body); s != store::Status::ok) return s;
      uint32_t uid = 0;
      if (auto s = t.append(mailbox, body, a.flags, a.date, &uid, a.keywords); s != store::Status::ok) return s;
      uids->push_back(uid);
    }
    return store::Status::ok;
  };
  worker_store()->write(conn_.worker().loop(), prepare, op,
                        [this, alive = alive_, batch, uids, tag, validity](store::Status s) {
                          for (auto& a : *batch) a.message->release();
                          if (!*alive) return;
                          std::string text;
                          switch (s) {
                            case store::Status::ok: {
                              std::string set = std::to_string(uids->front());
                              for (size_t i = 1; i < uids->size(); i++) set += "," + std::to_string((*uids)[i]);
                              if (uids->size() > 1 && uids->back() == uids->front() + uids->size() - 1)
                                set = std::to_string(uids->front()) + ":" + std::to_string(uids->back());
                              text = "OK [APPENDUID " + std::to_string(validity) + " " + set + "] APPEND completed";
                              break;
                            }
                            case store::Status::quota: text = "NO [OVERQUOTA] Quota exceeded"; break;
                            case store::Status::map_full: text = "NO [LIMIT] The store is full"; break;
                            default: text = "NO [SERVERBUG] Could not store the message";
                          }
                          tagged(tag, "APPEND", text);
                          ready();
                        });
}

}  // namespace gannet::imap
