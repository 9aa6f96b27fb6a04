// The delivery queue's part of Txn: entries by id, plus an index sorted by
// next attempt time so the delivery agent finds due mail with one range scan.
#include "store/codec.h"
#include "store/dbs.h"
#include "store/txn.h"

namespace gannet::store {

namespace {

std::string id_key(uint64_t id) {
  std::string k;
  put_be64(k, id);
  return k;
}

std::string time_key(const QueueEntry& e) {
  std::string k;
  put_be64(k, static_cast<uint64_t>(e.next_attempt));
  put_be64(k, e.id);
  return k;
}

}  // namespace

std::optional<QueueEntry> Txn::queue_entry(uint64_t id) {
  auto v = get(dbs_.queue, id_key(id));
  QueueEntry e;
  if (!v || !decode(*v, e)) return std::nullopt;
  return e;
}

std::vector<QueueEntry> Txn::queue_list() {
  std::vector<QueueEntry> out;
  MDB_cursor* cur;
  if (mdb_cursor_open(txn_, dbs_.queue, &cur) != 0) return out;
  MDB_val k, v;
  for (int rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0; rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
    QueueEntry e;
    if (decode({static_cast<char*>(v.mv_data), v.mv_size}, e)) out.push_back(std::move(e));
  }
  mdb_cursor_close(cur);
  return out;
}

std::vector<QueueEntry> Txn::queue_due(int64_t now, size_t limit) {
  std::vector<QueueEntry> out;
  MDB_cursor* cur;
  if (mdb_cursor_open(txn_, dbs_.queue_time, &cur) != 0) return out;
  MDB_val k, v;
  for (int rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0 && out.size() < limit;
       rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
    if (k.mv_size != 16) continue;
    auto* p = static_cast<const char*>(k.mv_data);
    if (static_cast<int64_t>(get_be64(p)) > now) break;  // sorted: the rest is later
    auto e = queue_entry(get_be64(p + 8));
    if (e && !e->held && e->lease_until <= now) out.push_back(std::move(*e));
  }
  mdb_cursor_close(cur);
  return out;
}

Status Txn::enqueue(std::string_view sender, const std::vector<std::string>& recipients, std::string_view message,
                    int64_t now, uint64_t* id) {
  QueueEntry e;
  e.sender = sender;
  for (auto& r : recipients) e.recipients.emplace_back().address = r;
  return enqueue(std::move(e), message, now, id);
}

Status Txn::enqueue(QueueEntry e, const BodySource& message, int64_t now, uint64_t* id) {
  if (e.recipients.empty()) return Status::invalid;
  e.id = next_id("next:queue");
  for (auto& r : e.recipients) r.state = QueueRecipient::pending;
  e.created = e.next_attempt = now;
  if (Status s = put_body(message, {}, e.body_id, 1); s != Status::ok) return s;
  if (Status s = put(dbs_.queue, id_key(e.id), encode(e)); s != Status::ok) return s;
  if (id) *id = e.id;
  return put(dbs_.queue_time, time_key(e), "");
}

Status Txn::queue_save(const QueueEntry& e) {
  auto old = queue_entry(e.id);
  if (!old) return Status::not_found;
  if (Status s = del(dbs_.queue_time, time_key(*old)); s != Status::ok) return s;
  if (Status s = put(dbs_.queue, id_key(e.id), encode(e)); s != Status::ok) return s;
  return put(dbs_.queue_time, time_key(e), "");
}

Status Txn::queue_delete(uint64_t id) {
  auto e = queue_entry(id);
  if (!e) return Status::not_found;
  if (Status s = del(dbs_.queue_time, time_key(*e)); s != Status::ok) return s;
  if (Status s = del(dbs_.queue, id_key(id)); s != Status::ok) return s;
  return release_body(e->body_id);
}

}  // namespace gannet::store
