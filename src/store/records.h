// What the store holds, and how each record is encoded.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace gannet::store {

struct User {
  uint32_t id = 0;
  std::string address;        // lower-case local@domain
  std::string password_hash;  // argon2id encoded ("$argon2id$v=19$...")
  uint64_t quota_bytes = 0;   // 0 = unlimited
  uint64_t quota_messages = 0;
  bool enabled = true;
  uint64_t used_bytes = 0;    // kept by every append and expunge
  uint64_t used_messages = 0;
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

// The delivery queue: a message waiting to leave, with each recipient's fate.
struct QueueRecipient {
  enum State : uint8_t { pending, delivered, failed };
  std::string address;
  State state = pending;
  std::string last_error;  // the remote reply or local reason
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
