// What the store holds, and how each record is encoded.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace gannet::store {

// SCRAM-SHA-256's secrets (RFC 5802 3): enough to check a proof, not to log
// in. Made with the argon2id hash whenever a password is set; empty for a
// password set before SCRAM existed, and such a user cannot use SCRAM.
struct ScramSecrets {
  std::string salt;        // 16 random octets
  uint32_t iterations = 0;
  std::string stored_key;  // 32 octets
  std::string server_key;  // 32 octets
  bool empty() const { return salt.empty(); }
};

struct User {
  uint32_t id = 0;
  std::string address;        // lower-case local@domain
  std::string password_hash;  // argon2id encoded ("$argon2id$v=19$...")
  uint64_t quota_bytes = 0;   // 0 = unlimited
  uint64_t quota_messages = 0;
  bool enabled = true;
  uint64_t used_bytes = 0;    // kept by every append and expunge
  uint64_t used_messages = 0;
  ScramSecrets scram;         // encoded last: older records end before it

  // Whether one more message of size octets stays within the quota.
  bool has_room_for(uint64_t size) const {
    return !(quota_bytes && used_bytes + size > quota_bytes) && !(quota_messages && used_messages + 1 > quota_messages);
  }
};

enum class SpecialUse : uint8_t { none, sent, drafts, trash, junk, archive };
const char* special_use_name(SpecialUse);  // "\\Sent", ... or ""

struct Mailbox {
  uint32_t id = 0;
  uint32_t user_id = 0;
  std::string name;  // full Unicode (UTF-8); IMAP's modified UTF-7 is the protocol's business
  uint32_t uidvalidity = 0;
  uint32_t uidnext = 1;
  uint64_t highestmodseq = 1;
  bool subscribed = true;
  SpecialUse special = SpecialUse::none;
  uint32_t messages = 0;
  uint64_t bytes = 0;
};

// Message flags as bits; keywords are kept by name.
enum : uint32_t {
  FLAG_SEEN = 1, FLAG_ANSWERED = 2, FLAG_FLAGGED = 4, FLAG_DELETED = 8, FLAG_DRAFT = 16,
};

struct Message {  // one entry of a mailbox's index
  uint32_t uid = 0;
  uint64_t body_id = 0;
  uint32_t flags = 0;
  std::vector<std::string> keywords;
  int64_t internal_date = 0;  // unix seconds
  uint64_t size = 0;
  uint64_t modseq = 0;
};

struct Body {  // per stored body: shared by every copy
  uint32_t refs = 0;
  uint64_t size = 0;
  std::string meta;  // cached parse for IMAP (envelope, structure, header offsets)
};

// A body is two records side by side in one table, so a delivery writes
// one B-tree path for both: the message's bytes, then its Body. The key is
// the body id (be64) and the part's letter.
enum class BodyPart : char { data = 'd', info = 'i' };
std::string body_key(uint64_t id, BodyPart part);

// The delivery queue: a message waiting to leave, with each recipient's fate.

// DSN NOTIFY (RFC 3461 4.1) as bits. None set means NOTIFY was not given:
// the sender then gets failure (and delay) notices, as if FAILURE,DELAY.
enum : uint8_t { NOTIFY_SUCCESS = 1, NOTIFY_FAILURE = 2, NOTIFY_DELAY = 4, NOTIFY_NEVER = 8 };
uint8_t notify_bits(std::string_view text);  // "SUCCESS,FAILURE" -> bits; unknown words count nothing
std::string notify_text(uint8_t bits);       // "NEVER", "SUCCESS,FAILURE", or "" when unset

struct QueueRecipient {
  enum State : uint8_t { pending, delivered, failed };
  std::string address;
  State state = pending;
  std::string last_error;  // the remote reply or local reason
  uint8_t notify = 0;      // NOTIFY_* bits, 0 = not given
  std::string orcpt{};     // DSN ORCPT as received ("rfc822;a+40b"), "" if not given
};

struct QueueEntry {
  uint64_t id = 0;
  std::string sender;  // empty for a bounce (the null sender)
  std::vector<QueueRecipient> recipients;
  uint64_t body_id = 0;
  int64_t created = 0;       // unix seconds
  int64_t next_attempt = 0;  // unix seconds; the queue index is sorted by it
  uint32_t attempts = 0;
  bool held = false;         // `gannetctl queue hold`: never attempted until released
  int64_t lease_until = 0;   // a worker delivering it owns it until then
  std::string last_error;
  // DSN (RFC 3461 4.3, 4.4), from MAIL FROM.
  enum Ret : uint8_t { ret_unset, ret_full, ret_hdrs };
  Ret ret = ret_unset;
  std::string envid;  // ENVID as received (xtext), "" if not given
  // MAIL FROM had SMTPUTF8 (RFC 6531): its addresses or header fields may
  // hold UTF-8, and such a message goes only to a server that offers it.
  bool smtputf8 = false;
  // The sender was told it is delayed (smtp_delay_warning_time): once only.
  bool delay_warned = false;
};

std::string encode(const User&);
std::string encode(const Mailbox&);
std::string encode(const Message&);
std::string encode(const Body&);
bool decode(std::string_view, User&);
bool decode(std::string_view, Mailbox&);
bool decode(std::string_view, Message&);
bool decode(std::string_view, Body&);
std::string encode(const QueueEntry&);
bool decode(std::string_view, QueueEntry&);

}  // namespace gannet::store
