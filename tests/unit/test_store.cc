// The store API against a temporary LMDB environment.
#include <catch2/catch.hpp>

#include <sys/stat.h>
#include <sys/wait.h>

#include <algorithm>
#include <functional>
#include <unistd.h>

#include "store/change_feed.h"
#include "store/check.h"
#include "store/codec.h"
#include "store/dbs.h"  // the store's inside: corrupting it on purpose
#include "store/store.h"
#include "test_util.h"

using namespace gannet::store;

namespace {

struct StoreRig {
  TempDir dir;
  std::unique_ptr<Store> store;
  uint32_t alice = 0, bob = 0;

  StoreRig() {
    std::string err;
    store = Store::open(dir.path + "/data", 64u << 20, err);
    REQUIRE(store);
    REQUIRE(store->write_now([&](Txn& t) {
      User a, b;
      Status s = t.add_domain("example.test");
      if (s == Status::ok) s = t.add_user("alice@example.test", "hash", &a);
      if (s == Status::ok) s = t.add_user("bob@example.test", "hash", &b);
      alice = a.id;
      bob = b.id;
      return s;
    }) == Status::ok);
  }

  Status write(const Store::Op& op) { return store->write_now(op); }
  Mailbox mailbox(uint32_t user, const char* name) {
    return *store->read([&](Txn& t) { return t.mailbox(user, name); });
  }
  std::vector<std::string> problems() {
    return store->read([](Txn& t) { return check(t); });
  }
};

}  // namespace

TEST_CASE("addresses are normalised and checked") {
  CHECK(normalize_address("Alice@Example.TEST") == "alice@example.test");
  CHECK(normalize_address("no-at-sign").empty());
  CHECK(normalize_address("@example.test").empty());
  CHECK(normalize_address("a b@example.test").empty());
  CHECK(normalize_address("a@exa_mple.test").empty());
  CHECK(normalize_address("a@example..test").empty());
  CHECK(normalize_domain("Mail.Example.Test") == "mail.example.test");
}

TEST_CASE("users, duplicates and unknown domains") {
  StoreRig r;
  CHECK(r.write([](Txn& t) { return t.add_user("ALICE@example.test", "h"); }) == Status::exists);
  CHECK(r.write([](Txn& t) { return t.add_user("carol@other.test", "h"); }) == Status::not_found);
  CHECK(r.write([](Txn& t) { return t.add_domain("example.test"); }) == Status::exists);
  CHECK(r.write([](Txn& t) { return t.del_domain("example.test"); }) == Status::exists);
  CHECK(r.store->read([](Txn& t) { return t.user("Alice@Example.Test")->address; }) == "alice@example.test");
}

namespace {

ScramSecrets some_scram(char fill) {
  return {std::string(16, fill), 4096, std::string(32, char(fill + 1)), std::string(32, char(fill + 2))};
}

bool same_scram(const ScramSecrets& a, const ScramSecrets& b) {
  return a.salt == b.salt && a.iterations == b.iterations && a.stored_key == b.stored_key && a.server_key == b.server_key;
}

// A user record as written before SCRAM secrets were kept.
std::string old_user_record() {
  return Encoder().u64(7).str("old@example.test").str("$argon2id$v=19$old").u64(1000).u64(10).u64(1).u64(500).u64(3)
      .take();
}

}  // namespace

TEST_CASE("user records: SCRAM secrets round trip, and a record from before them still decodes") {
  User u;
  u.id = 7;
  u.address = "old@example.test";
  u.password_hash = "$argon2id$v=19$old";
  u.quota_bytes = 1000;
  u.quota_messages = 10;
  u.used_bytes = 500;
  u.used_messages = 3;
  // Without secrets, the encoding is the old one, byte for byte.
  CHECK(encode(u) == old_user_record());

  User old;
  old.scram = some_scram('x');  // decode must not keep what was there
  REQUIRE(decode(old_user_record(), old));
  CHECK(old.id == 7);
  CHECK(old.address == "old@example.test");
  CHECK(old.password_hash == "$argon2id$v=19$old");
  CHECK(old.quota_bytes == 1000);
  CHECK(old.quota_messages == 10);
  CHECK(old.enabled);
  CHECK(old.used_bytes == 500);
  CHECK(old.used_messages == 3);
  CHECK(old.scram.empty());

  u.scram = some_scram('a');
  std::string rec = encode(u);
  User back;
  REQUIRE(decode(rec, back));
  CHECK(back.address == u.address);
  CHECK(back.used_messages == 3);
  CHECK(same_scram(back.scram, u.scram));

  // Cut anywhere inside the secrets, or with a key of the wrong size, the
  // record is refused rather than read half-set.
  for (size_t n = old_user_record().size() + 1; n < rec.size(); n++) CHECK_FALSE(decode(rec.substr(0, n), back));
  CHECK_FALSE(decode(rec + "x", back));
  ScramSecrets short_key = some_scram('a');
  short_key.stored_key.pop_back();
  std::string bad = old_user_record();
  bad += Encoder().str(short_key.salt).u64(4096).str(short_key.stored_key).str(short_key.server_key).take();
  CHECK_FALSE(decode(bad, back));
  bad = old_user_record() + Encoder().str(std::string(16, 's')).u64(0).str(std::string(32, 'k')).str(std::string(32, 'k')).take();
  CHECK_FALSE(decode(bad, back));  // no iterations
  bad = old_user_record() + Encoder().str("").u64(0).str("").str("").take();
  CHECK_FALSE(decode(bad, back));  // never written: empty secrets are left out
}

TEST_CASE("a new password replaces the SCRAM secrets, or clears them") {
  StoreRig r;
  REQUIRE(r.write([](Txn& t) { return t.add_user("carol@example.test", "h1", nullptr, some_scram('a')); }) == Status::ok);
  auto scram = [&] { return r.store->read([](Txn& t) { return t.user("carol@example.test")->scram; }); };
  CHECK(same_scram(scram(), some_scram('a')));
  CHECK(r.store->read([](Txn& t) { return t.user("alice@example.test")->scram.empty(); }));
  REQUIRE(r.write([](Txn& t) { return t.set_password("carol@example.test", "h2", some_scram('m')); }) == Status::ok);
  CHECK(same_scram(scram(), some_scram('m')));
  // A caller that knows nothing of SCRAM must not leave the old password
  // working through it.
  REQUIRE(r.write([](Txn& t) { return t.set_password("carol@example.test", "h3"); }) == Status::ok);
  CHECK(scram().empty());
  CHECK(r.store->read([](Txn& t) { return t.user("carol@example.test")->password_hash; }) == "h3");
}

TEST_CASE("UIDs grow, MODSEQ grows on every change, UIDNEXT stays above every UID") {
  StoreRig r;
  uint32_t inbox = 0, uid1 = 0, uid2 = 0, uid3 = 0;
  REQUIRE(r.write([&](Txn& t) {
    t.ensure_default_mailboxes(r.alice);
    inbox = t.mailbox(r.alice, "INBOX")->id;
    uint64_t body;
    t.put_body("Subject: one\r\n\r\nhi\r\n", {}, body);
    t.append(inbox, body, 0, 1000, &uid1);
    t.put_body("Subject: two\r\n\r\nhi\r\n", {}, body);
    return t.append(inbox, body, 0, 1000, &uid2);
  }) == Status::ok);
  CHECK(uid1 == 1);
  CHECK(uid2 == 2);
  Mailbox mb = r.mailbox(r.alice, "INBOX");
  uint64_t modseq = mb.highestmodseq;
  REQUIRE(r.write([&](Txn& t) { return t.expunge(inbox, uid2); }) == Status::ok);
  REQUIRE(r.write([&](Txn& t) {
    uint64_t body;
    t.put_body("three", {}, body);
    return t.append(inbox, body, 0, 1000, &uid3);
  }) == Status::ok);
  CHECK(uid3 == 3);  // an expunged UID is never reused
  mb = r.mailbox(r.alice, "INBOX");
  CHECK(mb.uidnext == 4);
  CHECK(mb.highestmodseq > modseq + 1);
  REQUIRE(r.write([&](Txn& t) { return t.set_flags(inbox, uid1, FLAG_SEEN, {"$Important"}); }) == Status::ok);
  auto m = r.store->read([&](Txn& t) { return t.message(inbox, uid1); });
  CHECK(m->flags == FLAG_SEEN);
  CHECK(m->keywords == std::vector<std::string>{"$Important"});
  CHECK(m->modseq == r.mailbox(r.alice, "INBOX").highestmodseq);
  CHECK(r.problems().empty());
}

TEST_CASE("one body serves every recipient and every copy, and goes with the last reference") {
  StoreRig r;
  REQUIRE(r.write([&](Txn& t) { return t.deliver("Subject: hi\r\n\r\nbody\r\n", {r.alice, r.bob}, 1000); }) == Status::ok);
  Mailbox a = r.mailbox(r.alice, "INBOX"), b = r.mailbox(r.bob, "INBOX"), trash = r.mailbox(r.alice, "Trash");
  auto msg = r.store->read([&](Txn& t) { return *t.message(a.id, 1); });
  auto refs = [&] { return r.store->read([&](Txn& t) { auto bi = t.body_info(msg.body_id); return bi ? int(bi->refs) : -1; }); };
  CHECK(refs() == 2);
  REQUIRE(r.write([&](Txn& t) { return t.copy(a.id, 1, trash.id); }) == Status::ok);
  CHECK(refs() == 3);
  REQUIRE(r.write([&](Txn& t) { return t.expunge(a.id, 1); }) == Status::ok);
  REQUIRE(r.write([&](Txn& t) { return t.expunge(b.id, 1); }) == Status::ok);
  CHECK(refs() == 1);
  CHECK(r.problems().empty());
  REQUIRE(r.write([&](Txn& t) { return t.expunge(trash.id, 1); }) == Status::ok);
  CHECK(refs() == -1);
  CHECK(r.store->read([&](Txn& t) { return t.body(msg.body_id).has_value(); }) == false);
  CHECK(r.problems().empty());
}

TEST_CASE("a mailbox renamed keeps its messages and UIDVALIDITY; deleted, it takes them along") {
  StoreRig r;
  REQUIRE(r.write([&](Txn& t) { return t.deliver("Subject: hi\r\n\r\nbody\r\n", {r.alice}, 1000); }) == Status::ok);
  Mailbox work;
  REQUIRE(r.write([&](Txn& t) { return t.create_mailbox(r.alice, "Work", SpecialUse::none, &work); }) == Status::ok);
  Mailbox inbox = r.mailbox(r.alice, "INBOX");
  REQUIRE(r.write([&](Txn& t) { return t.copy(inbox.id, 1, work.id); }) == Status::ok);
  CHECK(r.write([&](Txn& t) { return t.rename_mailbox(work.id, "INBOX"); }) == Status::exists);
  CHECK(r.write([&](Txn& t) { return t.rename_mailbox(work.id, ""); }) == Status::invalid);
  REQUIRE(r.write([&](Txn& t) { return t.rename_mailbox(work.id, "Projects/Work"); }) == Status::ok);
  Mailbox moved = r.mailbox(r.alice, "Projects/Work");
  CHECK(moved.id == work.id);
  CHECK(moved.uidvalidity == work.uidvalidity);
  CHECK(moved.messages == 1);
  CHECK_FALSE(r.store->read([&](Txn& t) { return t.mailbox(r.alice, "Work").has_value(); }));
  REQUIRE(r.write([&](Txn& t) { return t.delete_mailbox(moved.id); }) == Status::ok);
  CHECK_FALSE(r.store->read([&](Txn& t) { return t.mailbox_by_id(moved.id).has_value(); }));
  CHECK(r.write([&](Txn& t) { return t.delete_mailbox(moved.id); }) == Status::not_found);
  auto used = r.store->read([&](Txn& t) { return t.user_by_id(r.alice)->used_messages; });
  CHECK(used == 1);  // the INBOX copy
  CHECK(r.problems().empty());
}

TEST_CASE("an expunge leaves a tombstone with its MODSEQ; the mailbox takes them along when it goes") {
  StoreRig r;
  Mailbox work;
  REQUIRE(r.write([&](Txn& t) { return t.create_mailbox(r.alice, "Work", SpecialUse::none, &work); }) == Status::ok);
  REQUIRE(r.write([&](Txn& t) { return t.deliver("Subject: a\r\n\r\nx\r\n", {r.alice}, 1000); }) == Status::ok);
  Mailbox inbox = r.mailbox(r.alice, "INBOX");
  for (int i = 0; i < 3; i++) REQUIRE(r.write([&](Txn& t) { return t.copy(inbox.id, 1, work.id); }) == Status::ok);
  uint64_t before = r.mailbox(r.alice, "Work").highestmodseq;
  REQUIRE(r.write([&](Txn& t) { return t.expunge(work.id, 3); }) == Status::ok);
  uint64_t middle = r.mailbox(r.alice, "Work").highestmodseq;
  REQUIRE(r.write([&](Txn& t) { return t.expunge(work.id, 1); }) == Status::ok);
  auto since = [&](uint64_t m) { return r.store->read([&](Txn& t) { return t.expunged_since(work.id, m); }); };
  CHECK(since(before) == std::vector<uint32_t>{1, 3});
  CHECK(since(middle) == std::vector<uint32_t>{1});
  CHECK(since(r.mailbox(r.alice, "Work").highestmodseq).empty());
  CHECK(r.store->read([&](Txn& t) { return t.expunged_since(inbox.id, 0); }).empty());
  REQUIRE(r.write([&](Txn& t) { return t.delete_mailbox(work.id); }) == Status::ok);
  CHECK(since(0).empty());
}

TEST_CASE("the MODSEQ index names what was added or changed since a MODSEQ, and forgets the expunged") {
  StoreRig r;
  for (int i = 0; i < 4; i++)
    REQUIRE(r.write([&](Txn& t) { return t.deliver("Subject: a\r\n\r\nx\r\n", {r.alice}, 1000); }) == Status::ok);
  Mailbox inbox = r.mailbox(r.alice, "INBOX");
  auto changed = [&](uint64_t m) { return r.store->read([&](Txn& t) { return t.changed_since(inbox.id, m); }); };
  CHECK(changed(0) == std::vector<uint32_t>{1, 2, 3, 4});
  uint64_t mark = inbox.highestmodseq;
  CHECK(changed(mark).empty());
  REQUIRE(r.write([&](Txn& t) { return t.set_flags(inbox.id, 3, FLAG_SEEN, {}); }) == Status::ok);
  REQUIRE(r.write([&](Txn& t) { return t.set_flags(inbox.id, 1, FLAG_FLAGGED, {"$x"}); }) == Status::ok);
  CHECK(changed(mark) == std::vector<uint32_t>{1, 3});
  REQUIRE(r.write([&](Txn& t) { return t.expunge(inbox.id, 3); }) == Status::ok);
  CHECK(changed(mark) == std::vector<uint32_t>{1});
  CHECK(changed(0) == std::vector<uint32_t>{1, 2, 4});  // one entry a message: its latest MODSEQ
  CHECK(r.problems().empty());
}

TEST_CASE("quota is enforced at delivery, and a failed delivery leaves nothing behind") {
  StoreRig r;
  REQUIRE(r.write([](Txn& t) { return t.set_quota("alice@example.test", 100, 2); }) == Status::ok);
  std::string big(200, 'x');
  CHECK(r.write([&](Txn& t) { return t.deliver(big, {r.alice}, 0); }) == Status::quota);
  CHECK(r.write([&](Txn& t) { return t.deliver("small", {r.alice}, 0); }) == Status::ok);
  CHECK(r.write([&](Txn& t) { return t.deliver("small", {r.alice}, 0); }) == Status::ok);
  CHECK(r.write([&](Txn& t) { return t.deliver("small", {r.alice}, 0); }) == Status::quota);  // message count
  // One recipient over quota fails the whole transaction: bob got nothing either.
  CHECK(r.write([&](Txn& t) { return t.deliver("small", {r.bob, r.alice}, 0); }) == Status::quota);
  CHECK(r.store->read([&](Txn& t) { return t.user("bob@example.test")->used_messages; }) == 0);
  CHECK(r.problems().empty());
}

TEST_CASE("aliases: one-to-many, chains, loops and catch-all") {
  StoreRig r;
  REQUIRE(r.write([](Txn& t) {
    t.add_alias("team@example.test", "alice@example.test");
    t.add_alias("team@example.test", "bob@example.test");
    t.add_alias("boss@example.test", "team@example.test");
    t.add_alias("loop1@example.test", "loop2@example.test");
    t.add_alias("loop2@example.test", "loop1@example.test");
    return t.add_alias("@example.test", "bob@example.test");
  }) == Status::ok);
  auto resolve = [&](const char* a) {
    std::vector<uint32_t> ids;
    r.store->read([&](Txn& t) { return t.resolve(a, ids); });
    std::sort(ids.begin(), ids.end());
    return ids;
  };
  CHECK(resolve("team@example.test") == std::vector<uint32_t>{r.alice, r.bob});
  CHECK(resolve("Boss@Example.Test") == std::vector<uint32_t>{r.alice, r.bob});
  CHECK(resolve("alice@example.test") == std::vector<uint32_t>{r.alice});
  CHECK(resolve("anyone@example.test") == std::vector<uint32_t>{r.bob});  // catch-all
  CHECK(resolve("loop1@example.test").empty());
  CHECK(resolve("x@other.test").empty());
}

TEST_CASE("group commit: concurrent writers share one durable commit") {
  StoreRig r;
  uv_loop_t loop;
  uv_loop_init(&loop);
  int done = 0, ok = 0;
  // The first write starts a commit at once; the batch is taken once the
  // writer lock is held, so it holds the first one or all ten, and the rest
  // share the next commit.
  for (int i = 0; i < 10; i++) {
    r.store->write(&loop, [&, i](Txn& t) { return t.deliver("msg " + std::to_string(i), {r.alice}, 0); },
                   [&](Status s) { done++; ok += s == Status::ok; });
  }
  uint64_t before = r.store->last_commit_id();
  uv_run(&loop, UV_RUN_DEFAULT);
  CHECK(done == 10);
  CHECK(ok == 10);
  CHECK(r.store->last_batch_size() >= 9);
  CHECK(r.store->last_commit_id() - before <= 2);  // 10 messages, at most 2 transactions
  CHECK(r.mailbox(r.alice, "INBOX").messages == 10);
  // A failing op in a batch does not undo the others.
  int statuses[3] = {-1, -1, -1};
  r.store->write(&loop, [&](Txn& t) { return t.deliver("a", {r.bob}, 0); }, [&](Status s) { statuses[0] = int(s); });
  r.store->write(&loop, [&](Txn& t) { return t.add_domain("not a domain"); }, [&](Status s) { statuses[1] = int(s); });
  r.store->write(&loop, [&](Txn& t) { return t.deliver("b", {r.bob}, 0); }, [&](Status s) { statuses[2] = int(s); });
  uv_run(&loop, UV_RUN_DEFAULT);
  CHECK(statuses[0] == int(Status::ok));
  CHECK(statuses[1] == int(Status::invalid));
  CHECK(statuses[2] == int(Status::ok));
  CHECK(r.mailbox(r.bob, "INBOX").messages == 2);
  CHECK(r.problems().empty());
  uv_loop_close(&loop);
}

TEST_CASE("a full map is reported, not a crash") {
  TempDir dir;
  std::string err;
  auto s = Store::open(dir.path + "/data", 1u << 20, err);
  REQUIRE(s);
  s->write_now([](Txn& t) { t.add_domain("example.test"); return t.add_user("a@example.test", "h"); });
  uint32_t id = s->read([](Txn& t) { return t.user("a@example.test")->id; });
  std::string big(300 << 10, 'x');
  Status last = Status::ok;
  for (int i = 0; i < 10 && last == Status::ok; i++) last = s->write_now([&](Txn& t) { return t.deliver(big, {id}, 0); });
  CHECK(last == Status::map_full);
  CHECK(std::string(status_text(last)).find("store_map_size") != std::string::npos);
  CHECK(s->read([](Txn& t) { return check(t); }).empty());
}

TEST_CASE("a body's bytes and record sit side by side; check finds one without the other") {
  StoreRig r;
  REQUIRE(r.write([&](Txn& t) { return t.deliver("Subject: a\r\n\r\nbody\r\n", {r.alice}, 0); }) == Status::ok);
  Message m = r.store->read([&](Txn& t) { return *t.message(r.mailbox(r.alice, "INBOX").id, 1); });
  CHECK(r.store->read([&](Txn& t) { return std::string(*t.body(m.body_id)); }) == "Subject: a\r\n\r\nbody\r\n");
  CHECK(r.problems().empty());
  // The record gone, the bytes left behind: both ends of that are reported.
  REQUIRE(r.write([&](Txn& t) {
    std::string k = body_key(m.body_id, BodyPart::info);
    MDB_val key{k.size(), k.data()};
    return mdb_del(TxnAccess::raw(t), TxnAccess::dbs(t).bodies, &key, nullptr) == 0 ? Status::ok : Status::io;
  }) == Status::ok);
  auto problems = r.problems();
  CHECK(std::find(problems.begin(), problems.end(), "body " + std::to_string(m.body_id) + ": data without its record") !=
        problems.end());
  // A counter behind the last body would make the next delivery fail: reported.
  REQUIRE(r.write([&](Txn& t) {
    std::string k = "next:body", v;
    put_be64(v, 1);
    MDB_val key{k.size(), k.data()}, val{v.size(), v.data()};
    return mdb_put(TxnAccess::raw(t), TxnAccess::dbs(t).meta, &key, &val, 0) == 0 ? Status::ok : Status::io;
  }) == Status::ok);
  REQUIRE(r.write([&](Txn& t) { return t.deliver("Subject: b\r\n\r\n", {r.alice}, 0); }) == Status::exists);
  problems = r.problems();
  CHECK(std::find(problems.begin(), problems.end(), "next:body is 1, not above body " + std::to_string(m.body_id)) !=
        problems.end());
  CHECK(std::find(problems.begin(), problems.end(),
                  "a message or queue entry points to missing body " + std::to_string(m.body_id)) != problems.end());
}

TEST_CASE("a store with the older body_data table is refused with a clear error") {
  TempDir dir;
  std::string path = dir.path + "/data";
  REQUIRE(mkdir(path.c_str(), 0700) == 0);
  MDB_env* env;
  MDB_txn* txn;
  MDB_dbi dbi;
  REQUIRE(mdb_env_create(&env) == 0);
  mdb_env_set_maxdbs(env, 16);
  REQUIRE(mdb_env_open(env, path.c_str(), 0, 0600) == 0);
  REQUIRE(mdb_txn_begin(env, nullptr, 0, &txn) == 0);
  REQUIRE(mdb_dbi_open(txn, "body_data", MDB_CREATE, &dbi) == 0);
  REQUIRE(mdb_txn_commit(txn) == 0);
  mdb_env_close(env);
  std::string err;
  CHECK(Store::open(path, 64u << 20, err) == nullptr);
  CHECK(err.find("older layout (a body_data table)") != std::string::npos);
}

TEST_CASE("the change log names each changed mailbox once, and says when it no longer reaches back") {
  StoreRig r;
  REQUIRE(r.write([&](Txn& t) { return t.ensure_default_mailboxes(r.alice); }) == Status::ok);
  uint64_t after = 0;
  std::vector<uint32_t> ids;
  REQUIRE(r.store->read([&](Txn& t) { return t.changed_mailboxes(after, ids); }));
  Mailbox inbox = r.mailbox(r.alice, "INBOX"), sent = r.mailbox(r.alice, "Sent");
  uint64_t mark = after;
  REQUIRE(r.write([&](Txn& t) { return t.set_subscribed(sent.id, false); }) == Status::ok);
  for (int i = 0; i < 3; i++)
    REQUIRE(r.write([&](Txn& t) { return t.deliver("Subject: x\r\n\r\ny\r\n", {r.alice}, 0); }) == Status::ok);
  ids.clear();
  REQUIRE(r.store->read([&](Txn& t) { return t.changed_mailboxes(mark, ids); }));
  CHECK(ids == std::vector<uint32_t>{inbox.id, sent.id});
  uint64_t old = mark;
  for (int i = 0; i < 5000; i++)
    REQUIRE(r.write([&](Txn& t) { return t.set_subscribed(sent.id, i % 2); }) == Status::ok);
  ids.clear();
  CHECK_FALSE(r.store->read([&](Txn& t) { return t.changed_mailboxes(old, ids); }));
}

TEST_CASE("the change feed tells who watches a mailbox that another process changed, and nobody else") {
  StoreRig r;
  REQUIRE(r.write([&](Txn& t) { return t.ensure_default_mailboxes(r.alice); }) == Status::ok);
  REQUIRE(r.write([&](Txn& t) { return t.ensure_default_mailboxes(r.bob); }) == Status::ok);
  uv_loop_t loop;
  uv_loop_init(&loop);
  {
    ChangeFeed feed(*r.store, &loop, 5);
    int alice_told = 0, bob_told = 0;
    auto token = feed.subscribe(r.mailbox(r.alice, "INBOX").id, [&] {
      alice_told++;
      uv_stop(&loop);
    });
    auto bob_token = feed.subscribe(r.mailbox(r.bob, "INBOX").id, [&] { bob_told++; });
    // A commit that touches no mailbox (the queue) wakes nobody.
    REQUIRE(r.write([&](Txn& t) { return t.enqueue("a@b.test", {"c@d.test"}, "x", 0); }) == Status::ok);
    pid_t child = fork();
    if (child == 0) {
      // Another process, with its own environment, as another worker would be.
      std::string err;
      auto other = Store::open(r.dir.path + "/data", 64u << 20, err);
      uint32_t alice = r.alice;
      _exit(other && other->write_now([&](Txn& t) { return t.deliver("from the child", {alice}, 0); }) == Status::ok ? 0 : 1);
    }
    int status = 0;
    waitpid(child, &status, 0);
    REQUIRE(WIFEXITED(status));
    REQUIRE(WEXITSTATUS(status) == 0);
    uv_run(&loop, UV_RUN_DEFAULT);  // stopped by alice's listener
    CHECK(alice_told == 1);
    CHECK(bob_told == 0);
    CHECK(r.mailbox(r.alice, "INBOX").messages == 1);
    feed.unsubscribe(token);
    feed.unsubscribe(bob_token);
    CHECK(feed.listeners() == 0);
  }
  uv_run(&loop, UV_RUN_DEFAULT);  // lets the feed's timer close
  CHECK(uv_loop_close(&loop) == 0);
}

TEST_CASE("the queue: due entries by time, held ones skipped, bodies freed with the entry") {
  StoreRig r;
  uint64_t a = 0, b = 0;
  REQUIRE(r.write([&](Txn& t) { return t.enqueue("alice@example.test", {"x@remote.test", "y@remote.test"}, "msg a", 100, &a); }) == Status::ok);
  REQUIRE(r.write([&](Txn& t) { return t.enqueue("", {"z@remote.test"}, "bounce b", 200, &b); }) == Status::ok);
  auto due = [&](int64_t now) {
    std::vector<uint64_t> ids;
    for (auto& e : r.store->read([&](Txn& t) { return t.queue_due(now, 10); })) ids.push_back(e.id);
    return ids;
  };
  CHECK(due(50).empty());
  CHECK(due(150) == std::vector<uint64_t>{a});
  CHECK(due(250) == std::vector<uint64_t>{a, b});
  // A failed attempt moves the entry later: the index follows.
  REQUIRE(r.write([&](Txn& t) {
    auto e = *t.queue_entry(a);
    e.attempts++;
    e.next_attempt = 1000;
    e.recipients[0].state = QueueRecipient::delivered;
    e.recipients[1].last_error = "451 4.7.1 try later";
    return t.queue_save(e);
  }) == Status::ok);
  CHECK(due(250) == std::vector<uint64_t>{b});
  CHECK(due(1000) == std::vector<uint64_t>{b, a});
  REQUIRE(r.write([&](Txn& t) { auto e = *t.queue_entry(b); e.held = true; return t.queue_save(e); }) == Status::ok);
  CHECK(due(1000) == std::vector<uint64_t>{a});
  auto e = r.store->read([&](Txn& t) { return *t.queue_entry(a); });
  CHECK(e.recipients[1].last_error == "451 4.7.1 try later");
  CHECK(e.sender == "alice@example.test");
  CHECK(r.problems().empty());
  REQUIRE(r.write([&](Txn& t) { return t.queue_delete(a); }) == Status::ok);
  CHECK(r.store->read([&](Txn& t) { return t.body(e.body_id).has_value(); }) == false);
  CHECK(r.problems().empty());
}

TEST_CASE("queue entries: DSN requests round trip, and a record from before them still decodes") {
  QueueEntry q;
  q.id = 7;
  q.sender = "alice@example.test";
  q.body_id = 3;
  q.created = q.next_attempt = 100;
  q.attempts = 2;
  q.last_error = "451 4.7.1 later";
  q.recipients.push_back({"x@remote.test", QueueRecipient::pending, "451 4.7.1 later"});
  q.recipients.push_back({"y@remote.test", QueueRecipient::failed, "550 5.1.1 no"});
  // Without DSN, the encoding is what it was before DSN was kept.
  Encoder old;
  old.u64(7).str("alice@example.test").u64(3).u64(100).u64(100).u64(2).u64(0).u64(0).str("451 4.7.1 later").u64(2);
  old.str("x@remote.test").u64(QueueRecipient::pending).str("451 4.7.1 later");
  old.str("y@remote.test").u64(QueueRecipient::failed).str("550 5.1.1 no");
  std::string old_bytes = old.take();
  CHECK(encode(q) == old_bytes);
  QueueEntry back;
  back.ret = QueueEntry::ret_full;  // decode resets what an old record lacks
  back.envid = "stale";
  REQUIRE(decode(old_bytes, back));
  CHECK(back.ret == QueueEntry::ret_unset);
  CHECK(back.envid.empty());
  CHECK(back.recipients.size() == 2);
  CHECK(back.recipients[1].notify == 0);
  CHECK(back.recipients[1].orcpt.empty());

  q.ret = QueueEntry::ret_hdrs;
  q.envid = "QQ+2B42";
  q.recipients[0].notify = NOTIFY_SUCCESS | NOTIFY_DELAY;
  q.recipients[0].orcpt = "rfc822;x+40remote.test";
  q.recipients[1].notify = NOTIFY_NEVER;
  std::string bytes = encode(q);
  REQUIRE(decode(bytes, back));
  CHECK(back.ret == QueueEntry::ret_hdrs);
  CHECK(back.envid == "QQ+2B42");
  CHECK(back.recipients[0].notify == (NOTIFY_SUCCESS | NOTIFY_DELAY));
  CHECK(back.recipients[0].orcpt == "rfc822;x+40remote.test");
  CHECK(back.recipients[1].notify == NOTIFY_NEVER);
  CHECK(back.recipients[1].address == "y@remote.test");
  CHECK(encode(back) == bytes);
  // Damage is refused, not half-read.
  for (size_t n = old_bytes.size() + 1; n < bytes.size(); n++) CHECK_FALSE(decode(bytes.substr(0, n), back));
  CHECK_FALSE(decode(bytes + "x", back));

  CHECK(notify_bits("SUCCESS,FAILURE") == (NOTIFY_SUCCESS | NOTIFY_FAILURE));
  CHECK(notify_bits("never") == NOTIFY_NEVER);
  CHECK(notify_bits("") == 0);
  CHECK(notify_text(NOTIFY_FAILURE | NOTIFY_DELAY) == "FAILURE,DELAY");
  CHECK(notify_text(0).empty());
}

TEST_CASE("queue entries: the SMTPUTF8 flag round trips, and entries without it keep their encoding") {
  QueueEntry q;
  q.id = 9;
  q.sender = "alice@example.test";
  q.recipients.push_back({"x@remote.test", QueueRecipient::pending, ""});
  std::string plain = encode(q);
  q.envid = "e1";
  std::string dsn_only = encode(q);
  // Without the flag the DSN block is version 1, as before the flag existed.
  Encoder v1;
  v1.u64(9).str("alice@example.test").u64(0).u64(0).u64(0).u64(0).u64(0).u64(0).str("").u64(1);
  v1.str("x@remote.test").u64(QueueRecipient::pending).str("");
  v1.u64(1).u64(QueueEntry::ret_unset).str("e1").u64(0).str("");
  CHECK(dsn_only == v1.take());

  QueueEntry back;
  for (std::string envid : {"", "e1"}) {
    INFO("envid " << envid);
    q.envid = envid;
    q.smtputf8 = true;
    std::string bytes = encode(q);
    CHECK(bytes != plain);
    back.smtputf8 = false;
    REQUIRE(decode(bytes, back));
    CHECK(back.smtputf8);
    CHECK(back.envid == envid);
    CHECK(back.recipients.size() == 1);
    CHECK(encode(back) == bytes);
    CHECK_FALSE(decode(bytes.substr(0, bytes.size() - 1), back));
    CHECK_FALSE(decode(bytes + "x", back));
  }
  back.smtputf8 = true;  // decode resets what an older record lacks
  REQUIRE(decode(plain, back));
  CHECK_FALSE(back.smtputf8);
  REQUIRE(decode(dsn_only, back));
  CHECK_FALSE(back.smtputf8);
  CHECK(back.envid == "e1");
}

TEST_CASE("queue entries: the delay warning flag round trips, alone or with SMTPUTF8") {
  QueueEntry q, back;
  q.id = 3;
  q.sender = "alice@example.test";
  q.recipients.push_back({"x@remote.test", QueueRecipient::pending, ""});
  for (bool utf8 : {false, true}) {
    q.smtputf8 = utf8;
    q.delay_warned = true;
    std::string bytes = encode(q);
    back = {};
    REQUIRE(decode(bytes, back));
    CHECK(back.delay_warned);
    CHECK(back.smtputf8 == utf8);
    CHECK(encode(back) == bytes);
  }
  q.smtputf8 = q.delay_warned = false;
  back.delay_warned = true;  // decode resets what the record lacks
  REQUIRE(decode(encode(q), back));
  CHECK_FALSE(back.delay_warned);
}

TEST_CASE("remote addresses keep their local part; gannetctl's messages get CRLF") {
  CHECK(normalize_remote_address("Friend.Name@Remote.TEST") == "Friend.Name@remote.test");
  CHECK(normalize_address("Friend.Name@Remote.TEST") == "friend.name@remote.test");
  CHECK(normalize_remote_address("no-at-sign").empty());
  CHECK(normalize_remote_address("a b@remote.test").empty());
  CHECK(normalize_remote_address("a@exa_mple.test").empty());
  CHECK(normalize_address("a b@remote.test").empty());

  CHECK(crlf_line_ends("a\nb\n") == "a\r\nb\r\n");
  CHECK(crlf_line_ends("a\r\nb\r\n") == "a\r\nb\r\n");
  CHECK(crlf_line_ends("\na\r\nb\nc") == "\r\na\r\nb\r\nc");
  CHECK(crlf_line_ends("a\rb") == "a\rb");
  CHECK(crlf_line_ends("") == "");
}

TEST_CASE("the queue keeps a prepared entry's DSN requests") {
  StoreRig r;
  QueueEntry e;
  e.sender = "alice@example.test";
  e.ret = QueueEntry::ret_full;
  e.envid = "id1";
  e.recipients.push_back({"x@remote.test", QueueRecipient::failed, "old"});
  e.recipients[0].notify = NOTIFY_SUCCESS;
  e.recipients[0].orcpt = "rfc822;x+40remote.test";
  uint64_t id = 0;
  REQUIRE(r.write([&](Txn& t) { return t.enqueue(e, "msg", 100, &id); }) == Status::ok);
  auto got = r.store->read([&](Txn& t) { return *t.queue_entry(id); });
  CHECK(got.id == id);
  CHECK(got.created == 100);
  CHECK(got.ret == QueueEntry::ret_full);
  CHECK(got.envid == "id1");
  CHECK(got.recipients[0].state == QueueRecipient::pending);
  CHECK(got.recipients[0].notify == NOTIFY_SUCCESS);
  CHECK(got.recipients[0].orcpt == "rfc822;x+40remote.test");
  CHECK(r.store->read([&](Txn& t) { return *t.body(got.body_id); }) == "msg");
  CHECK(r.problems().empty());
}

TEST_CASE("group commit: a completion that writes again joins the next batch") {
  StoreRig r;
  uv_loop_t loop;
  uv_loop_init(&loop);
  int stored = 0;
  // Each completion queues the next message, as a pipelining SMTP client
  // makes the session do; ten such chains run side by side.
  std::function<void(int)> chain = [&](int left) {
    r.store->write(&loop, [&](Txn& t) { return t.deliver("chained", {r.alice}, 0); }, [&, left](Status s) {
      REQUIRE(s == Status::ok);
      stored++;
      if (left > 1) chain(left - 1);
    });
  };
  uint64_t before = r.store->last_commit_id();
  for (int i = 0; i < 10; i++) chain(5);
  uv_run(&loop, UV_RUN_DEFAULT);
  CHECK(stored == 50);
  // Batches of 1, 10, 10, 10, 10, 9 or of 10 five times: five or six
  // commits (1, 9, 1, 9... would be ten).
  uint64_t commits = r.store->last_commit_id() - before;
  CHECK(commits >= 5);
  CHECK(commits <= 6);
  CHECK(r.mailbox(r.alice, "INBOX").messages == 50);
  CHECK(r.problems().empty());
  uv_loop_close(&loop);
}
