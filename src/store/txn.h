// A transaction over the store's databases, with the record-level
// operations every caller needs. Holds no state beyond the LMDB handle.
#pragma once

#include <cstring>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "store/records.h"

extern "C" {
typedef struct MDB_env MDB_env;
typedef struct MDB_txn MDB_txn;
}

namespace gannet::store {

enum class Status { ok, not_found, exists, invalid, quota, map_full, io };
const char* status_text(Status);

// A body the store copies into its own pages: from memory, or from a
// message spooled to a file, which is then never held in memory whole.
struct BodySource {
  uint64_t size = 0;
  std::function<bool(char* dst)> fill;  // writes all size octets; false on a read error
  BodySource(std::string_view s) : size(s.size()), fill([s](char* d) { memcpy(d, s.data(), s.size()); return true; }) {}
  BodySource(const std::string& s) : BodySource(std::string_view(s)) {}
  BodySource(const char* s) : BodySource(std::string_view(s)) {}
  BodySource(uint64_t n, std::function<bool(char*)> f) : size(n), fill(std::move(f)) {}
};

// LMDB's handles, by name only: no caller needs more of them (store/dbs.h
// has the tables, for the store's own files).
struct Dbs;

// Lower-cases and checks "local@domain"; empty on a bad address.
std::string normalize_address(std::string_view);
std::string normalize_domain(std::string_view);
// The same check, but only the domain is lower-cased: a local part is
// case-sensitive (RFC 5321 2.4) and only its own host may read it, so an
// address whose mail goes elsewhere keeps it as written.
std::string normalize_remote_address(std::string_view);
// Every bare LF made CRLF, an existing CRLF kept: for a message that comes
// from a file (gannetctl) rather than over SMTP, which carries CRLF only.
std::string crlf_line_ends(std::string_view);

class Txn {
 public:
  Txn(MDB_env* env, const Dbs& dbs, bool read_only);  // a top-level transaction
  Txn(MDB_txn* txn, const Dbs& dbs) : txn_(txn), dbs_(dbs), owned_(false) {}  // borrowed
  ~Txn();
  Txn(const Txn&) = delete;
  Txn& operator=(const Txn&) = delete;
  int commit();  // for an owned write transaction; 0 or an LMDB error
  bool ok() const { return txn_ != nullptr; }

  // --- reads ---
  bool has_domain(std::string_view domain);
  std::vector<std::string> domains();
  std::optional<User> user(std::string_view address);
  std::optional<User> user_by_id(uint32_t id);
  std::vector<User> users(std::string_view domain = {});
  std::vector<std::string> alias_targets(std::string_view source);
  std::vector<std::pair<std::string, std::string>> aliases();
  // The users a recipient reaches: the user, else its aliases (one-to-many,
  // followed a few levels deep), else the domain's catch-all "@domain".
  Status resolve(std::string_view rcpt, std::vector<uint32_t>& user_ids);
  std::optional<Mailbox> mailbox(uint32_t user_id, std::string_view name);
  std::optional<Mailbox> mailbox_by_id(uint32_t id);
  std::vector<Mailbox> mailboxes(uint32_t user_id);
  // One range scan over (mailbox, UID): the messages with UIDs in [from, to].
  std::vector<Message> messages(uint32_t mailbox_id, uint32_t from_uid = 1, uint32_t to_uid = UINT32_MAX);
  std::optional<Message> message(uint32_t mailbox_id, uint32_t uid);
  std::optional<Body> body_info(uint64_t body_id);
  // The mailboxes changed since change number `after` (0 at first), each
  // once; `after` becomes the last change. False when the log no longer
  // goes back that far: then any mailbox may have changed.
  bool changed_mailboxes(uint64_t& after, std::vector<uint32_t>& ids);
  // The UIDs of a mailbox's messages whose MODSEQ is above `since` (added
  // or changed since), ascending: one range scan of the MODSEQ index.
  std::vector<uint32_t> changed_since(uint32_t mailbox_id, uint64_t since);
  // The UIDs expunged from a mailbox with a MODSEQ above `since`, ascending.
  std::vector<uint32_t> expunged_since(uint32_t mailbox_id, uint64_t since);
  std::optional<std::string_view> body(uint64_t body_id);  // valid while the txn lives

  // --- writes ---
  Status add_domain(std::string_view domain);
  Status del_domain(std::string_view domain);  // refused while users or aliases use it
  Status add_user(std::string_view address, std::string_view password_hash, User* out = nullptr,
                  const ScramSecrets& scram = {});
  Status del_user(std::string_view address);   // with all its mail
  // Replaces the SCRAM secrets too (empty if not given): the old ones
  // would still let the old password in.
  Status set_password(std::string_view address, std::string_view password_hash, const ScramSecrets& scram = {});
  Status set_quota(std::string_view address, uint64_t bytes, uint64_t messages);
  Status add_alias(std::string_view source, std::string_view target);
  Status del_alias(std::string_view source, std::string_view target);
  // INBOX, Sent, Drafts, Trash, Junk: made on first use.
  Status ensure_default_mailboxes(uint32_t user_id);
  Status create_mailbox(uint32_t user_id, std::string_view name, SpecialUse special, Mailbox* out = nullptr);
  Status delete_mailbox(uint32_t mailbox_id);  // with its messages
  Status rename_mailbox(uint32_t mailbox_id, std::string_view new_name);  // Status::exists if taken
  Status set_subscribed(uint32_t mailbox_id, bool subscribed);
  // A new body with refs references already counted (the caller adds them).
  Status put_body(const BodySource& data, std::string_view meta, uint64_t& body_id, uint32_t refs = 0);
  // Adds a body to a mailbox: next UID, new MODSEQ, quota checked.
  Status append(uint32_t mailbox_id, uint64_t body_id, uint32_t flags, int64_t date, uint32_t* uid = nullptr,
                const std::vector<std::string>& keywords = {});
  Status expunge(uint32_t mailbox_id, uint32_t uid);
  // For an import that keeps the UIDs it found: a mailbox never used yet
  // (no message, UIDNEXT 1) takes the given UIDVALIDITY, else Status::exists;
  // UIDNEXT only ever grows, so the next append gets uid if it is not below.
  Status adopt_uidvalidity(uint32_t mailbox_id, uint32_t uidvalidity);
  Status raise_uidnext(uint32_t mailbox_id, uint32_t uidnext);
  Status copy(uint32_t from_mailbox, uint32_t uid, uint32_t to_mailbox, uint32_t* new_uid = nullptr);
  Status set_flags(uint32_t mailbox_id, uint32_t uid, uint32_t flags, const std::vector<std::string>& keywords);
  // Stores one message for several users in one go: one body, one INBOX
  // entry each.
  Status deliver(std::string_view message, const std::vector<uint32_t>& user_ids, int64_t date);
  // With meta (mail::encode_meta of its parse) made beforehand, off the writer lock;
  // into `mailbox` (a filter's Junk) where a user has it, else INBOX.
  Status deliver(const BodySource& message, std::string_view meta, const std::vector<uint32_t>& user_ids,
                 int64_t date, std::string_view mailbox = "INBOX");

  // --- the delivery queue ---
  std::optional<QueueEntry> queue_entry(uint64_t id);
  std::vector<QueueEntry> queue_list();
  // Entries due at `now`, not held and not leased, oldest first.
  std::vector<QueueEntry> queue_due(int64_t now, size_t limit);
  // Stores the message once and queues it; the body's reference is the queue's.
  Status enqueue(std::string_view sender, const std::vector<std::string>& recipients, std::string_view message,
                 int64_t now, uint64_t* id = nullptr);
  // The same from a prepared entry: its sender, recipients (address, DSN
  // NOTIFY/ORCPT) and RET/ENVID are kept; id, body, times and states are set here.
  Status enqueue(QueueEntry e, const BodySource& message, int64_t now, uint64_t* id = nullptr);
  Status queue_save(const QueueEntry& e);  // after an attempt; keeps the time index right
  Status queue_delete(uint64_t id);        // done or given up: frees the body's reference

  int last_error() const { return err_; }

 private:
  // The store's own files (check.cc) and its tests reach LMDB through here.
  friend struct TxnAccess;
  MDB_txn* raw() const { return txn_; }
  const Dbs& dbs() const { return dbs_; }

  std::optional<std::string_view> get(unsigned dbi, std::string_view key);  // an MDB_dbi
  Status put(unsigned dbi, std::string_view key, std::string_view value, unsigned flags = 0);
  Status del(unsigned dbi, std::string_view key, std::string_view value = {});
  uint64_t next_id(std::string_view counter);
  Status save(const User&);
  Status save(const Mailbox&);
  Status release_body(uint64_t body_id);
  Status drop_tombstones(uint32_t mailbox_id);
  std::vector<uint32_t> uids_after(unsigned dbi, uint32_t mailbox_id, uint64_t since);
  Status index_modseq(uint32_t mailbox_id, uint32_t uid, uint64_t old_modseq, uint64_t new_modseq);
  Status add_entry(Mailbox& mb, uint64_t body_id, uint64_t size, uint32_t flags, int64_t date,
                   const std::vector<std::string>& keywords, uint32_t* uid);
  Status status_of(int rc);

  MDB_txn* txn_ = nullptr;
  const Dbs& dbs_;
  bool owned_ = true;
  int err_ = 0;
};

}  // namespace gannet::store
