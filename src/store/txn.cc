#include "store/txn.h"

#include <algorithm>
#include <ctime>

#include "mail/message_parser.h"
#include "store/codec.h"
#include "store/dbs.h"

namespace gannet::store {

namespace {

MDB_val val(std::string_view s) { return {s.size(), const_cast<char*>(s.data())}; }
std::string_view view(const MDB_val& v) { return {static_cast<const char*>(v.mv_data), v.mv_size}; }

std::string key32(uint32_t a) {
  std::string k;
  put_be32(k, a);
  return k;
}
std::string key32x2(uint32_t a, uint32_t b) {
  std::string k = key32(a);
  put_be32(k, b);
  return k;
}
// (mailbox, MODSEQ): the key of the tombstone and MODSEQ indexes.
std::string modseq_key(uint32_t mailbox_id, uint64_t modseq) {
  std::string k = key32(mailbox_id);
  put_be64(k, modseq);
  return k;
}

std::string key64(uint64_t a) {
  std::string k;
  put_be64(k, a);
  return k;
}
std::string name_key(uint32_t user_id, std::string_view name) { return key32(user_id).append(name); }

// Calls f(key, value) for every entry whose key starts with prefix, in order,
// until f returns false.
template <class F>
void scan(MDB_txn* txn, MDB_dbi dbi, std::string_view prefix, F f) {
  MDB_cursor* cur;
  if (mdb_cursor_open(txn, dbi, &cur) != 0) return;
  MDB_val k = val(prefix), v;
  int rc = prefix.empty() ? mdb_cursor_get(cur, &k, &v, MDB_FIRST) : mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
  while (rc == 0 && view(k).substr(0, prefix.size()) == prefix) {
    if (!f(view(k), view(v))) break;
    rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
  }
  mdb_cursor_close(cur);
}

bool valid_domain(std::string_view d) {
  if (d.empty() || d.size() > 253 || d.front() == '.' || d.back() == '.' || d.find("..") != std::string_view::npos) return false;
  for (char c : d)
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.')) return false;
  return true;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    if (c >= 'A' && c <= 'Z') c = char(c - 'A' + 'a');
  return out;
}

constexpr int kMaxAliasDepth = 8;

}  // namespace

const char* status_text(Status s) {
  switch (s) {
    case Status::ok: return "ok";
    case Status::not_found: return "not found";
    case Status::exists: return "already exists";
    case Status::invalid: return "invalid";
    case Status::quota: return "over quota";
    case Status::map_full: return "the store is full: raise \"store_map_size\"";
    case Status::io: return "store I/O error";
  }
  return "?";
}

std::string normalize_domain(std::string_view d) {
  std::string out = lower(d);
  return valid_domain(out) ? out : std::string();
}

std::string normalize_remote_address(std::string_view a) {
  auto at = a.rfind('@');
  if (at == std::string_view::npos || at == 0 || at > 64 || a.size() > 254) return {};
  std::string_view local = a.substr(0, at);
  for (char c : local)
    if (static_cast<unsigned char>(c) <= ' ' || c == '@' || c == '<' || c == '>' || c == '"' || c == '\\' || c == 0x7f)
      return {};
  std::string domain = normalize_domain(a.substr(at + 1));
  if (domain.empty()) return {};
  return std::string(local) + "@" + domain;
}

std::string normalize_address(std::string_view a) {
  std::string out = normalize_remote_address(a);
  auto at = out.rfind('@');
  return at == std::string::npos ? out : lower(std::string_view(out).substr(0, at)) + out.substr(at);
}

std::string crlf_line_ends(std::string_view m) {
  std::string out;
  out.reserve(m.size() + m.size() / 32);
  for (size_t i = 0; i < m.size(); i++) {
    if (m[i] == '\n' && (i == 0 || m[i - 1] != '\r')) out.push_back('\r');
    out.push_back(m[i]);
  }
  return out;
}

// --- transaction plumbing ---

Txn::Txn(MDB_env* env, const Dbs& dbs, bool read_only) : dbs_(dbs) {
  err_ = mdb_txn_begin(env, nullptr, read_only ? MDB_RDONLY : 0, &txn_);
  if (err_) txn_ = nullptr;
}

Txn::~Txn() {
  if (owned_ && txn_) mdb_txn_abort(txn_);
}

int Txn::commit() {
  int rc = mdb_txn_commit(txn_);
  txn_ = nullptr;
  return rc;
}

Status Txn::status_of(int rc) {
  err_ = rc;
  if (rc == 0) return Status::ok;
  if (rc == MDB_MAP_FULL) return Status::map_full;
  if (rc == MDB_NOTFOUND) return Status::not_found;
  if (rc == MDB_KEYEXIST) return Status::exists;
  return Status::io;
}

std::optional<std::string_view> Txn::get(unsigned dbi, std::string_view key) {
  MDB_val k = val(key), v;
  if (mdb_get(txn_, dbi, &k, &v) != 0) return std::nullopt;
  return view(v);
}

Status Txn::put(unsigned dbi, std::string_view key, std::string_view value, unsigned flags) {
  MDB_val k = val(key), v = val(value);
  return status_of(mdb_put(txn_, dbi, &k, &v, flags));
}

Status Txn::del(unsigned dbi, std::string_view key, std::string_view value) {
  MDB_val k = val(key), v = val(value);
  return status_of(mdb_del(txn_, dbi, &k, value.empty() ? nullptr : &v));
}

uint64_t Txn::next_id(std::string_view counter) {
  uint64_t id = 1;
  if (auto v = get(dbs_.meta, counter); v && v->size() == 8) id = get_be64(v->data());
  put(dbs_.meta, counter, key64(id + 1));
  return id;
}

// --- domains, users, aliases ---

bool Txn::has_domain(std::string_view d) { return get(dbs_.domains, lower(d)).has_value(); }

std::vector<std::string> Txn::domains() {
  std::vector<std::string> out;
  scan(txn_, dbs_.domains, {}, [&](std::string_view k, std::string_view) { out.emplace_back(k); return true; });
  return out;
}

Status Txn::add_domain(std::string_view domain) {
  std::string d = normalize_domain(domain);
  if (d.empty()) return Status::invalid;
  return put(dbs_.domains, d, "", MDB_NOOVERWRITE);
}

Status Txn::del_domain(std::string_view domain) {
  std::string d = lower(domain);
  if (!has_domain(d)) return Status::not_found;
  if (!users(d).empty()) return Status::exists;
  for (auto& [src, dst] : aliases())
    if (src.ends_with("@" + d)) return Status::exists;
  return del(dbs_.domains, d);
}

std::optional<User> Txn::user(std::string_view address) {
  auto v = get(dbs_.users, lower(address));
  User u;
  if (!v || !decode(*v, u)) return std::nullopt;
  return u;
}

std::optional<User> Txn::user_by_id(uint32_t id) {
  auto a = get(dbs_.user_ids, key32(id));
  return a ? user(*a) : std::nullopt;
}

std::vector<User> Txn::users(std::string_view domain) {
  std::vector<User> out;
  std::string suffix = domain.empty() ? "" : "@" + lower(domain);
  scan(txn_, dbs_.users, {}, [&](std::string_view k, std::string_view v) {
    User u;
    if ((suffix.empty() || k.ends_with(suffix)) && decode(v, u)) out.push_back(std::move(u));
    return true;
  });
  return out;
}

Status Txn::save(const User& u) { return put(dbs_.users, u.address, encode(u)); }

Status Txn::add_user(std::string_view address, std::string_view hash, User* out, const ScramSecrets& scram) {
  std::string a = normalize_address(address);
  if (a.empty()) return Status::invalid;
  if (!has_domain(a.substr(a.find('@') + 1))) return Status::not_found;
  if (user(a)) return Status::exists;
  User u;
  u.id = static_cast<uint32_t>(next_id("next:user"));
  u.address = a;
  u.password_hash = hash;
  u.scram = scram;
  if (Status s = save(u); s != Status::ok) return s;
  if (Status s = put(dbs_.user_ids, key32(u.id), a); s != Status::ok) return s;
  if (out) *out = u;
  return Status::ok;
}

Status Txn::del_user(std::string_view address) {
  auto u = user(address);
  if (!u) return Status::not_found;
  for (auto& mb : mailboxes(u->id)) {
    for (auto& m : messages(mb.id))
      if (Status s = expunge(mb.id, m.uid); s != Status::ok) return s;
    if (Status s = del(dbs_.mailbox_names, name_key(u->id, mb.name)); s != Status::ok) return s;
    if (Status s = drop_tombstones(mb.id); s != Status::ok) return s;
    if (Status s = del(dbs_.mailboxes, key32(mb.id)); s != Status::ok) return s;
  }
  if (Status s = del(dbs_.user_ids, key32(u->id)); s != Status::ok) return s;
  return del(dbs_.users, u->address);
}

Status Txn::set_password(std::string_view address, std::string_view hash, const ScramSecrets& scram) {
  auto u = user(address);
  if (!u) return Status::not_found;
  u->password_hash = hash;
  u->scram = scram;
  return save(*u);
}

Status Txn::set_quota(std::string_view address, uint64_t bytes, uint64_t messages) {
  auto u = user(address);
  if (!u) return Status::not_found;
  u->quota_bytes = bytes;
  u->quota_messages = messages;
  return save(*u);
}

std::vector<std::string> Txn::alias_targets(std::string_view source) {
  std::vector<std::string> out;
  MDB_cursor* cur;
  if (mdb_cursor_open(txn_, dbs_.aliases, &cur) != 0) return out;
  std::string key = lower(source);
  MDB_val k = val(key), v;
  for (int rc = mdb_cursor_get(cur, &k, &v, MDB_SET_KEY); rc == 0; rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT_DUP))
    out.emplace_back(view(v));
  mdb_cursor_close(cur);
  return out;
}

std::vector<std::pair<std::string, std::string>> Txn::aliases() {
  std::vector<std::pair<std::string, std::string>> out;
  scan(txn_, dbs_.aliases, {}, [&](std::string_view k, std::string_view v) { out.emplace_back(k, v); return true; });
  return out;
}

Status Txn::add_alias(std::string_view source, std::string_view target) {
  std::string src = source.starts_with("@") ? "@" + normalize_domain(source.substr(1)) : normalize_address(source);
  std::string dst = normalize_address(target);
  if (src.size() < 2 || dst.empty()) return Status::invalid;
  if (!has_domain(src.substr(src.find('@') + 1))) return Status::not_found;
  return put(dbs_.aliases, src, dst, MDB_NODUPDATA);
}

Status Txn::del_alias(std::string_view source, std::string_view target) {
  return del(dbs_.aliases, lower(source), lower(target));
}

Status Txn::resolve(std::string_view rcpt, std::vector<uint32_t>& ids) {
  std::string a = normalize_address(rcpt);
  if (a.empty()) return Status::invalid;
  std::vector<std::pair<std::string, int>> todo{{a, 0}};
  std::vector<std::string> seen;
  while (!todo.empty()) {
    auto [addr, depth] = todo.back();
    todo.pop_back();
    if (std::find(seen.begin(), seen.end(), addr) != seen.end()) continue;  // alias loops
    seen.push_back(addr);
    if (auto u = user(addr)) {
      if (u->enabled && std::find(ids.begin(), ids.end(), u->id) == ids.end()) ids.push_back(u->id);
      continue;
    }
    auto targets = alias_targets(addr);
    if (targets.empty() && depth == 0) targets = alias_targets(addr.substr(addr.find('@')));  // catch-all
    if (depth < kMaxAliasDepth)
      for (auto& t : targets) todo.emplace_back(t, depth + 1);
  }
  return ids.empty() ? Status::not_found : Status::ok;
}

// --- mailboxes ---

std::optional<Mailbox> Txn::mailbox_by_id(uint32_t id) {
  auto v = get(dbs_.mailboxes, key32(id));
  Mailbox m;
  if (!v || !decode(*v, m)) return std::nullopt;
  return m;
}

std::optional<Mailbox> Txn::mailbox(uint32_t user_id, std::string_view name) {
  auto id = get(dbs_.mailbox_names, name_key(user_id, name));
  if (!id || id->size() != 4) return std::nullopt;
  return mailbox_by_id(get_be32(id->data()));
}

std::vector<Mailbox> Txn::mailboxes(uint32_t user_id) {
  std::vector<Mailbox> out;
  scan(txn_, dbs_.mailbox_names, key32(user_id), [&](std::string_view, std::string_view v) {
    if (v.size() == 4)
      if (auto m = mailbox_by_id(get_be32(v.data()))) out.push_back(std::move(*m));
    return true;
  });
  return out;
}

// Every change to a mailbox is also logged by number, so that a worker's
// change feed learns which mailboxes the commits it missed touched. The log
// keeps the last kChangesKept: a feed further behind hears "everything".
constexpr uint64_t kChangesKept = 4096;

Status Txn::save(const Mailbox& m) {
  if (Status s = put(dbs_.mailboxes, key32(m.id), encode(m)); s != Status::ok) return s;
  uint64_t n = next_id("next:change");
  if (Status s = put(dbs_.changes, key64(n), key32(m.id), MDB_APPEND); s != Status::ok) return s;
  if (n > kChangesKept) {
    Status s = del(dbs_.changes, key64(n - kChangesKept));
    if (s != Status::ok && s != Status::not_found) return s;
  }
  return Status::ok;
}

bool Txn::changed_mailboxes(uint64_t& after, std::vector<uint32_t>& ids) {
  uint64_t last = 0;
  if (auto v = get(dbs_.meta, "next:change"); v && v->size() == 8) last = get_be64(v->data()) - 1;
  bool complete = after + kChangesKept >= last;  // the log still holds all since `after`
  MDB_cursor* cur;
  if (complete && mdb_cursor_open(txn_, dbs_.changes, &cur) == 0) {
    std::string from = key64(after + 1);
    MDB_val k = val(from), v;
    for (int rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE); rc == 0; rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT))
      if (v.mv_size == 4) ids.push_back(get_be32(static_cast<const char*>(v.mv_data)));
    mdb_cursor_close(cur);
  }
  std::sort(ids.begin(), ids.end());
  ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
  after = last;
  return complete;
}

Status Txn::create_mailbox(uint32_t user_id, std::string_view name, SpecialUse special, Mailbox* out) {
  if (name.empty() || name.size() > 1024) return Status::invalid;
  if (mailbox(user_id, name)) return Status::exists;
  Mailbox m;
  m.id = static_cast<uint32_t>(next_id("next:mailbox"));
  m.user_id = user_id;
  m.name = name;
  // UIDVALIDITY must change if a mailbox name is reused: time, made unique by the id.
  m.uidvalidity = static_cast<uint32_t>(time(nullptr)) + m.id;
  m.special = special;
  if (Status s = save(m); s != Status::ok) return s;
  if (Status s = put(dbs_.mailbox_names, name_key(user_id, name), key32(m.id)); s != Status::ok) return s;
  if (out) *out = m;
  return Status::ok;
}

// Its messages go with it (each body loses a reference); the id is never
// used again, so a session that had it selected finds it gone.
Status Txn::delete_mailbox(uint32_t mailbox_id) {
  auto mb = mailbox_by_id(mailbox_id);
  if (!mb) return Status::not_found;
  for (auto& m : messages(mb->id))
    if (Status s = expunge(mb->id, m.uid); s != Status::ok) return s;
  if (Status s = del(dbs_.mailbox_names, name_key(mb->user_id, mb->name)); s != Status::ok) return s;
  if (Status s = drop_tombstones(mb->id); s != Status::ok) return s;
  return del(dbs_.mailboxes, key32(mb->id));
}

// Only the name changes: the messages, UIDs and UIDVALIDITY stay.
Status Txn::rename_mailbox(uint32_t mailbox_id, std::string_view new_name) {
  if (new_name.empty() || new_name.size() > 1024) return Status::invalid;
  auto mb = mailbox_by_id(mailbox_id);
  if (!mb) return Status::not_found;
  if (mailbox(mb->user_id, new_name)) return Status::exists;
  if (Status s = del(dbs_.mailbox_names, name_key(mb->user_id, mb->name)); s != Status::ok) return s;
  mb->name = new_name;
  if (Status s = put(dbs_.mailbox_names, name_key(mb->user_id, new_name), key32(mb->id)); s != Status::ok) return s;
  return save(*mb);
}

Status Txn::set_subscribed(uint32_t mailbox_id, bool subscribed) {
  auto mb = mailbox_by_id(mailbox_id);
  if (!mb) return Status::not_found;
  mb->subscribed = subscribed;
  return save(*mb);
}

Status Txn::ensure_default_mailboxes(uint32_t user_id) {
  static const std::pair<const char*, SpecialUse> defaults[] = {
      {"INBOX", SpecialUse::none}, {"Sent", SpecialUse::sent}, {"Drafts", SpecialUse::drafts},
      {"Trash", SpecialUse::trash}, {"Junk", SpecialUse::junk}};
  for (auto& [name, special] : defaults) {
    Status s = create_mailbox(user_id, name, special);
    if (s != Status::ok && s != Status::exists) return s;
  }
  return Status::ok;
}

// --- messages and bodies ---

std::vector<Message> Txn::messages(uint32_t mailbox_id, uint32_t from_uid, uint32_t to_uid) {
  std::vector<Message> out;
  MDB_cursor* cur;
  if (mdb_cursor_open(txn_, dbs_.messages, &cur) != 0) return out;
  std::string start = key32x2(mailbox_id, from_uid), prefix = key32(mailbox_id);
  MDB_val k = val(start), v;
  for (int rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE); rc == 0 && view(k).substr(0, 4) == prefix;
       rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
    if (get_be32(static_cast<const char*>(k.mv_data) + 4) > to_uid) break;
    Message m;
    if (decode(view(v), m)) out.push_back(std::move(m));
  }
  mdb_cursor_close(cur);
  return out;
}

std::optional<Message> Txn::message(uint32_t mailbox_id, uint32_t uid) {
  auto v = get(dbs_.messages, key32x2(mailbox_id, uid));
  Message m;
  if (!v || !decode(*v, m)) return std::nullopt;
  return m;
}

std::optional<Body> Txn::body_info(uint64_t id) {
  auto v = get(dbs_.bodies, body_key(id, BodyPart::info));
  Body b;
  if (!v || !decode(*v, b)) return std::nullopt;
  return b;
}

std::optional<std::string_view> Txn::body(uint64_t id) { return get(dbs_.bodies, body_key(id, BodyPart::data)); }

Status Txn::put_body(const BodySource& data, std::string_view meta, uint64_t& body_id, uint32_t refs) {
  body_id = next_id("next:body");
  Body b{refs, data.size, std::string(meta)};
  // Ids only grow, so both go at the end of the tree: LMDB fills the last
  // page instead of splitting one, and writes fewer pages. The body is
  // written straight into the pages LMDB reserves: one copy, never two.
  std::string key = body_key(body_id, BodyPart::data);
  MDB_val k = val(key), v{data.size, nullptr};
  if (Status s = status_of(mdb_put(txn_, dbs_.bodies, &k, &v, MDB_APPEND | MDB_RESERVE)); s != Status::ok) return s;
  if (!data.fill(static_cast<char*>(v.mv_data))) return Status::io;
  return put(dbs_.bodies, body_key(body_id, BodyPart::info), encode(b), MDB_APPEND);
}

Status Txn::release_body(uint64_t body_id) {
  auto b = body_info(body_id);
  if (!b) return Status::not_found;
  if (b->refs > 1) {
    b->refs--;
    return put(dbs_.bodies, body_key(body_id, BodyPart::info), encode(*b));
  }
  if (Status s = del(dbs_.bodies, body_key(body_id, BodyPart::data)); s != Status::ok) return s;
  return del(dbs_.bodies, body_key(body_id, BodyPart::info));
}

Status Txn::append(uint32_t mailbox_id, uint64_t body_id, uint32_t flags, int64_t date, uint32_t* uid,
                   const std::vector<std::string>& keywords) {
  auto mb = mailbox_by_id(mailbox_id);
  auto b = body_info(body_id);
  if (!mb || !b) return Status::not_found;
  if (Status s = add_entry(*mb, body_id, b->size, flags, date, keywords, uid); s != Status::ok) return s;
  b->refs++;
  return put(dbs_.bodies, body_key(body_id, BodyPart::info), encode(*b));
}

// The entry, the mailbox's counters and the owner's usage; the body's
// reference count is the caller's to raise.
Status Txn::add_entry(Mailbox& mb, uint64_t body_id, uint64_t size, uint32_t flags, int64_t date,
                      const std::vector<std::string>& keywords, uint32_t* uid) {
  auto u = user_by_id(mb.user_id);
  if (!u) return Status::not_found;
  if (!u->has_room_for(size)) return Status::quota;
  Message m;
  m.uid = mb.uidnext++;
  m.body_id = body_id;
  m.flags = flags;
  m.keywords = keywords;
  m.internal_date = date;
  m.size = size;
  m.modseq = ++mb.highestmodseq;
  mb.messages++;
  mb.bytes += size;
  u->used_bytes += size;
  u->used_messages++;
  for (Status s : {put(dbs_.messages, key32x2(mb.id, m.uid), encode(m)), save(mb), save(*u),
                   index_modseq(mb.id, m.uid, 0, m.modseq)})
    if (s != Status::ok) return s;
  if (uid) *uid = m.uid;
  return Status::ok;
}

Status Txn::adopt_uidvalidity(uint32_t mailbox_id, uint32_t uidvalidity) {
  auto mb = mailbox_by_id(mailbox_id);
  if (!mb) return Status::not_found;
  if (mb->messages != 0 || mb->uidnext != 1 || uidvalidity == 0) return Status::exists;
  mb->uidvalidity = uidvalidity;
  return save(*mb);
}

Status Txn::raise_uidnext(uint32_t mailbox_id, uint32_t uidnext) {
  auto mb = mailbox_by_id(mailbox_id);
  if (!mb) return Status::not_found;
  if (uidnext <= mb->uidnext) return Status::ok;
  mb->uidnext = uidnext;
  return save(*mb);
}

Status Txn::expunge(uint32_t mailbox_id, uint32_t uid) {
  auto mb = mailbox_by_id(mailbox_id);
  auto m = message(mailbox_id, uid);
  if (!mb || !m) return Status::not_found;
  auto u = user_by_id(mb->user_id);
  mb->messages--;
  mb->bytes -= m->size;
  mb->highestmodseq++;
  if (u) {
    u->used_bytes -= std::min(u->used_bytes, m->size);
    u->used_messages -= std::min<uint64_t>(u->used_messages, 1);
    if (Status s = save(*u); s != Status::ok) return s;
  }
  // The tombstone: a client that last saw an older MODSEQ learns the UID
  // went (QRESYNC's VANISHED), and so do other workers' sessions.
  for (Status s : {del(dbs_.messages, key32x2(mailbox_id, uid)), save(*mb), release_body(m->body_id),
                   put(dbs_.expunged, modseq_key(mailbox_id, mb->highestmodseq), key32(uid)),
                   index_modseq(mailbox_id, uid, m->modseq, 0)})
    if (s != Status::ok) return s;
  return Status::ok;
}

// A message's place in the MODSEQ index moves with its MODSEQ.
Status Txn::index_modseq(uint32_t mailbox_id, uint32_t uid, uint64_t old_modseq, uint64_t new_modseq) {
  if (old_modseq) {
    Status s = del(dbs_.modseqs, modseq_key(mailbox_id, old_modseq));
    if (s != Status::ok && s != Status::not_found) return s;  // a message from before the index
  }
  return new_modseq ? put(dbs_.modseqs, modseq_key(mailbox_id, new_modseq), key32(uid)) : Status::ok;
}

// The UIDs a (mailbox, MODSEQ) index names past `since`, ascending by UID:
// the MODSEQ index and the tombstones are read alike.
std::vector<uint32_t> Txn::uids_after(unsigned dbi, uint32_t mailbox_id, uint64_t since) {
  std::vector<uint32_t> out;
  std::string from = modseq_key(mailbox_id, since + 1);
  MDB_cursor* cur;
  if (mdb_cursor_open(txn_, dbi, &cur) != 0) return out;
  MDB_val k = val(from), v;
  for (int rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE); rc == 0 && view(k).substr(0, 4) == from.substr(0, 4);
       rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT))
    if (v.mv_size == 4) out.push_back(get_be32(static_cast<const char*>(v.mv_data)));
  mdb_cursor_close(cur);
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<uint32_t> Txn::changed_since(uint32_t mailbox_id, uint64_t since) {
  return uids_after(dbs_.modseqs, mailbox_id, since);
}

std::vector<uint32_t> Txn::expunged_since(uint32_t mailbox_id, uint64_t since) {
  return uids_after(dbs_.expunged, mailbox_id, since);
}

// A mailbox that goes takes its tombstones along.
Status Txn::drop_tombstones(uint32_t mailbox_id) {
  std::vector<std::string> keys;
  scan(txn_, dbs_.expunged, key32(mailbox_id), [&](std::string_view k, std::string_view) {
    keys.emplace_back(k);
    return true;
  });
  for (auto& k : keys)
    if (Status s = del(dbs_.expunged, k); s != Status::ok) return s;
  return Status::ok;
}

Status Txn::copy(uint32_t from, uint32_t uid, uint32_t to, uint32_t* new_uid) {
  auto m = message(from, uid);
  if (!m) return Status::not_found;
  return append(to, m->body_id, m->flags, m->internal_date, new_uid, m->keywords);
}

Status Txn::set_flags(uint32_t mailbox_id, uint32_t uid, uint32_t flags, const std::vector<std::string>& keywords) {
  auto mb = mailbox_by_id(mailbox_id);
  auto m = message(mailbox_id, uid);
  if (!mb || !m) return Status::not_found;
  uint64_t old_modseq = m->modseq;
  m->flags = flags;
  m->keywords = keywords;
  m->modseq = ++mb->highestmodseq;
  if (Status s = put(dbs_.messages, key32x2(mailbox_id, uid), encode(*m)); s != Status::ok) return s;
  if (Status s = index_modseq(mailbox_id, uid, old_modseq, m->modseq); s != Status::ok) return s;
  return save(*mb);
}

Status Txn::deliver(std::string_view message, const std::vector<uint32_t>& user_ids, int64_t date) {
  return deliver(message, mail::encode_meta(mail::parse_message(message)), user_ids, date);
}

Status Txn::deliver(const BodySource& message, std::string_view meta, const std::vector<uint32_t>& user_ids,
                    int64_t date, std::string_view into) {
  uint64_t body_id;
  if (Status s = put_body(message, meta, body_id, static_cast<uint32_t>(user_ids.size())); s != Status::ok) return s;
  for (uint32_t id : user_ids) {
    auto inbox = into == "INBOX" ? std::nullopt : mailbox(id, into);
    if (!inbox) inbox = mailbox(id, "INBOX");
    if (!inbox) {  // a user's first mail
      if (Status s = ensure_default_mailboxes(id); s != Status::ok) return s;
      if (!(inbox = mailbox(id, "INBOX"))) return Status::not_found;
    }
    if (Status s = add_entry(*inbox, body_id, message.size, 0, date, {}, nullptr); s != Status::ok) return s;
  }
  return Status::ok;
}

}  // namespace gannet::store
