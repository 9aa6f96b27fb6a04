#include "records.h"

#include <algorithm>
#include <iterator>

#include "codec.h"
#include "mail/lexer.h"

namespace gannet::store {

const char* special_use_name(SpecialUse s) {
  static const char* names[] = {"", "\\Sent", "\\Drafts", "\\Trash", "\\Junk", "\\Archive"};
  return names[static_cast<int>(s)];
}

// The SCRAM secrets go last, and only when there are some: a user without
// them is encoded exactly as before SCRAM, and old records still decode.
std::string encode(const User& u) {
  Encoder e;
  e.u64(u.id).str(u.address).str(u.password_hash).u64(u.quota_bytes).u64(u.quota_messages).u64(u.enabled)
      .u64(u.used_bytes).u64(u.used_messages);
  const ScramSecrets& s = u.scram;
  if (!s.empty()) e.str(s.salt).u64(s.iterations).str(s.stored_key).str(s.server_key);
  return e.take();
}

namespace {

// Written whole or not at all: a half-set record would fail every SCRAM
// proof for a reason nobody could see.
bool valid(const ScramSecrets& s) {
  return !s.empty() && s.iterations > 0 && s.stored_key.size() == 32 && s.server_key.size() == 32;
}

}  // namespace

bool decode(std::string_view in, User& u) {
  Decoder d(in);
  d.num(u.id) && d.str(u.address) && d.str(u.password_hash) && d.num(u.quota_bytes) && d.num(u.quota_messages) &&
      d.num(u.enabled) && d.num(u.used_bytes) && d.num(u.used_messages);
  u.scram = {};
  if (d.done()) return true;  // written before SCRAM: no secrets
  ScramSecrets& s = u.scram;
  d.str(s.salt) && d.num(s.iterations) && d.str(s.stored_key) && d.str(s.server_key);
  return d.done() && valid(s);
}

std::string encode(const Mailbox& m) {
  return Encoder().u64(m.id).u64(m.user_id).str(m.name).u64(m.uidvalidity).u64(m.uidnext).u64(m.highestmodseq)
      .u64(m.subscribed).u64(static_cast<uint8_t>(m.special)).u64(m.messages).u64(m.bytes).take();
}

bool decode(std::string_view in, Mailbox& m) {
  Decoder d(in);
  uint8_t special = 0;
  d.num(m.id) && d.num(m.user_id) && d.str(m.name) && d.num(m.uidvalidity) && d.num(m.uidnext) &&
      d.num(m.highestmodseq) && d.num(m.subscribed) && d.num(special) && d.num(m.messages) && d.num(m.bytes);
  if (special > static_cast<uint8_t>(SpecialUse::archive)) return false;
  m.special = static_cast<SpecialUse>(special);
  return d.done();
}

std::string encode(const Message& m) {
  Encoder e;
  e.u64(m.uid).u64(m.body_id).u64(m.flags).u64(static_cast<uint64_t>(m.internal_date)).u64(m.size).u64(m.modseq);
  e.u64(m.keywords.size());
  for (auto& k : m.keywords) e.str(k);
  return e.take();
}

bool decode(std::string_view in, Message& m) {
  Decoder d(in);
  uint64_t date = 0, nkw = 0;
  d.num(m.uid) && d.num(m.body_id) && d.num(m.flags) && d.u64(date) && d.num(m.size) && d.num(m.modseq) && d.u64(nkw);
  m.internal_date = static_cast<int64_t>(date);
  m.keywords.clear();
  for (uint64_t i = 0; d.ok() && i < nkw && i < 1024; i++) d.str(m.keywords.emplace_back());
  return d.done();
}

std::string body_key(uint64_t id, BodyPart part) {
  std::string k;
  put_be64(k, id);
  k += static_cast<char>(part);
  return k;
}

std::string encode(const Body& b) { return Encoder().u64(b.refs).u64(b.size).str(b.meta).take(); }

bool decode(std::string_view in, Body& b) {
  Decoder d(in);
  d.num(b.refs) && d.num(b.size) && d.str(b.meta);
  return d.done();
}

namespace {

// What may follow the recipients, marked by a version number: 1 = the DSN
// requests; 2 = the DSN requests, then flags (SMTPUTF8, delay warned).
// Written only when there is something to write, and as 1 while no flag is
// set, so an entry without them is encoded exactly as before they were
// kept, and old entries still decode.
constexpr uint64_t kQueueDsn = 1;
constexpr uint64_t kQueueDsnFlags = 2;
constexpr uint64_t kFlagSmtputf8 = 1;
constexpr uint64_t kFlagDelayWarned = 2;

uint64_t flags_of(const QueueEntry& q) { return (q.smtputf8 ? kFlagSmtputf8 : 0) | (q.delay_warned ? kFlagDelayWarned : 0); }

bool has_dsn(const QueueEntry& q) {
  if (q.ret != QueueEntry::ret_unset || !q.envid.empty()) return true;
  for (auto& r : q.recipients)
    if (r.notify || !r.orcpt.empty()) return true;
  return false;
}

bool decode_extra(Decoder& d, QueueEntry& q) {
  uint64_t version = 0;
  uint8_t ret = 0;
  if (!d.u64(version) || (version != kQueueDsn && version != kQueueDsnFlags) || !d.num(ret) || !d.str(q.envid))
    return false;
  if (ret > QueueEntry::ret_hdrs) return false;
  q.ret = static_cast<QueueEntry::Ret>(ret);
  for (auto& r : q.recipients) {
    uint64_t notify = 0;
    if (!d.u64(notify) || notify > 0xf || !d.str(r.orcpt)) return false;
    r.notify = static_cast<uint8_t>(notify);
  }
  if (version == kQueueDsn) return true;
  uint64_t flags = 0;
  if (!d.u64(flags) || (flags & ~(kFlagSmtputf8 | kFlagDelayWarned))) return false;
  q.smtputf8 = flags & kFlagSmtputf8;
  q.delay_warned = flags & kFlagDelayWarned;
  return true;
}

// In bit order: NOTIFY_SUCCESS is 1 << 0, ...
const std::string_view kNotifyWords[] = {"SUCCESS", "FAILURE", "DELAY", "NEVER"};

}  // namespace

uint8_t notify_bits(std::string_view text) {
  uint8_t bits = 0;
  while (!text.empty()) {
    size_t comma = std::min(text.find(','), text.size());
    for (size_t i = 0; i < std::size(kNotifyWords); i++)
      if (mail::iequals(text.substr(0, comma), kNotifyWords[i])) bits |= uint8_t(1u << i);
    text.remove_prefix(std::min(comma + 1, text.size()));
  }
  return bits;
}

std::string notify_text(uint8_t bits) {
  std::string out;
  for (size_t i = 0; i < std::size(kNotifyWords); i++)
    if (bits & (1u << i)) out += (out.empty() ? "" : ",") + std::string(kNotifyWords[i]);
  return out;
}

std::string encode(const QueueEntry& q) {
  Encoder e;
  e.u64(q.id).str(q.sender).u64(q.body_id).u64(uint64_t(q.created)).u64(uint64_t(q.next_attempt)).u64(q.attempts)
      .u64(q.held).u64(uint64_t(q.lease_until)).str(q.last_error).u64(q.recipients.size());
  for (auto& r : q.recipients) e.str(r.address).u64(r.state).str(r.last_error);
  uint64_t flags = flags_of(q);
  if (!has_dsn(q) && !flags) return e.take();
  e.u64(flags ? kQueueDsnFlags : kQueueDsn).u64(q.ret).str(q.envid);
  for (auto& r : q.recipients) e.u64(r.notify).str(r.orcpt);
  if (flags) e.u64(flags);
  return e.take();
}

bool decode(std::string_view in, QueueEntry& q) {
  Decoder d(in);
  uint64_t n = 0;
  d.num(q.id) && d.str(q.sender) && d.num(q.body_id) && d.num(q.created) && d.num(q.next_attempt) && d.num(q.attempts) &&
      d.num(q.held) && d.num(q.lease_until) && d.str(q.last_error) && d.u64(n);
  q.recipients.clear();
  for (uint64_t i = 0; d.ok() && i < n && i < 100'000; i++) {
    auto& r = q.recipients.emplace_back();
    uint8_t state = 0;
    d.str(r.address) && d.num(state) && d.str(r.last_error);
    if (state > QueueRecipient::failed) return false;
    r.state = static_cast<QueueRecipient::State>(state);
  }
  q.ret = QueueEntry::ret_unset;
  q.envid.clear();
  q.smtputf8 = q.delay_warned = false;
  if (d.done()) return true;  // no DSN requests nor flags, or written before they were kept
  return d.ok() && decode_extra(d, q) && d.done();
}

}  // namespace gannet::store
