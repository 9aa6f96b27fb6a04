#include "store/check.h"

#include <algorithm>
#include <map>
#include <set>

#include "store/codec.h"
#include "store/dbs.h"

namespace gannet::store {

namespace {

// Every entry of one table, decoded by the caller.
template <class F>
void each(Txn& t, MDB_dbi dbi, F f) {
  MDB_cursor* cur;
  if (mdb_cursor_open(TxnAccess::raw(t), dbi, &cur) != 0) return;
  MDB_val k, v;
  for (int rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0; rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT))
    f(std::string_view(static_cast<char*>(k.mv_data), k.mv_size), std::string_view(static_cast<char*>(v.mv_data), v.mv_size));
  mdb_cursor_close(cur);
}

// The value of one of the meta table's id counters (1 when unset).
uint64_t next_counter(Txn& t, std::string_view name) {
  MDB_val k{name.size(), const_cast<char*>(name.data())}, v;
  if (mdb_get(TxnAccess::raw(t), TxnAccess::dbs(t).meta, &k, &v) != 0 || v.mv_size != 8) return 1;
  return get_be64(static_cast<const char*>(v.mv_data));
}

}  // namespace

std::vector<std::string> check(Txn& t, Stats* stats) {
  std::vector<std::string> bad;
  Stats st;
  const Dbs& d = TxnAccess::dbs(t);
  std::map<uint64_t, uint32_t> refs;                  // body id -> references seen
  std::map<uint32_t, std::pair<uint32_t, uint64_t>> per_mailbox;  // id -> (messages, bytes)
  std::map<uint32_t, std::pair<uint64_t, uint64_t>> per_user;     // id -> (messages, bytes)

  st.domains = t.domains().size();
  st.aliases = t.aliases().size();
  for (auto& u : t.users()) {
    st.users++;
    auto back = t.user_by_id(u.id);
    if (!back || back->address != u.address) bad.push_back("user " + u.address + ": id index is wrong");
  }
  each(t, d.messages, [&](std::string_view k, std::string_view v) {
    Message m;
    if (k.size() != 8 || !decode(v, m)) { bad.push_back("undecodable message entry"); return; }
    uint32_t mbox = get_be32(k.data());
    st.messages++;
    refs[m.body_id]++;
    auto& pm = per_mailbox[mbox];
    pm.first++;
    pm.second += m.size;
    auto mb = t.mailbox_by_id(mbox);
    if (!mb) { bad.push_back("message " + std::to_string(m.uid) + " in missing mailbox " + std::to_string(mbox)); return; }
    if (m.uid >= mb->uidnext) bad.push_back("mailbox " + mb->name + ": UID " + std::to_string(m.uid) + " >= UIDNEXT");
    if (m.modseq > mb->highestmodseq) bad.push_back("mailbox " + mb->name + ": MODSEQ above HIGHESTMODSEQ");
    auto& pu = per_user[mb->user_id];
    pu.first++;
    pu.second += m.size;
  });
  for (auto& q : t.queue_list()) {
    st.queued++;
    refs[q.body_id]++;
    if (q.recipients.empty()) bad.push_back("queue entry " + std::to_string(q.id) + " has no recipients");
  }
  each(t, d.mailboxes, [&](std::string_view, std::string_view v) {
    Mailbox mb;
    if (!decode(v, mb)) { bad.push_back("undecodable mailbox"); return; }
    st.mailboxes++;
    auto [n, bytes] = per_mailbox[mb.id];
    if (n != mb.messages || bytes != mb.bytes)
      bad.push_back("mailbox " + mb.name + ": counts " + std::to_string(mb.messages) + " messages but holds " + std::to_string(n));
    if (!t.user_by_id(mb.user_id)) bad.push_back("mailbox " + mb.name + " belongs to no user");
  });
  for (auto& u : t.users()) {
    auto [n, bytes] = per_user[u.id];
    if (n != u.used_messages || bytes != u.used_bytes) bad.push_back("user " + u.address + ": quota usage is wrong");
  }
  std::set<uint64_t> data_only;  // bytes seen, their record not yet
  uint64_t last_body = 0;
  each(t, d.bodies, [&](std::string_view k, std::string_view v) {
    Body b;
    if (k.size() >= 8) last_body = std::max(last_body, get_be64(k.data()));
    if (k.size() == 9 && k[8] == static_cast<char>(BodyPart::data)) {
      data_only.insert(get_be64(k.data()));
      return;
    }
    if (k.size() != 9 || k[8] != static_cast<char>(BodyPart::info) || !decode(v, b)) {
      bad.push_back("undecodable body");
      return;
    }
    uint64_t id = get_be64(k.data());
    data_only.erase(id);
    st.bodies++;
    st.body_bytes += b.size;
    auto it = refs.find(id);
    uint32_t seen = it == refs.end() ? 0 : it->second;
    if (seen == 0) bad.push_back("body " + std::to_string(id) + " is an orphan");  // no message, no queue entry
    else if (seen != b.refs) bad.push_back("body " + std::to_string(id) + ": refcount " + std::to_string(b.refs) + ", used " + std::to_string(seen));
    auto data = t.body(id);
    if (!data || data->size() != b.size) bad.push_back("body " + std::to_string(id) + ": data missing or wrong size");
    if (it != refs.end()) refs.erase(it);
  });
  for (auto& [id, n] : refs) bad.push_back("a message or queue entry points to missing body " + std::to_string(id));
  for (uint64_t id : data_only) bad.push_back("body " + std::to_string(id) + ": data without its record");
  // New bodies go at the end of their table (MDB_APPEND): the counter must be past the last.
  if (uint64_t next = next_counter(t, "next:body"); last_body && next <= last_body)
    bad.push_back("next:body is " + std::to_string(next) + ", not above body " + std::to_string(last_body));
  if (stats) *stats = st;
  return bad;
}

}  // namespace gannet::store
