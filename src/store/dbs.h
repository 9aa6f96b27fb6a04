// The store's LMDB tables: for the store's own files (and its tests), never
// for the modules, which see only Store and Txn.
#pragma once

#include <lmdb.h>

#include "store/store.h"
#include "store/txn.h"

namespace gannet::store {

struct Dbs {
  MDB_dbi meta, domains, users, user_ids, aliases, mailboxes, mailbox_names, messages, bodies;
  MDB_dbi queue, queue_time;
  MDB_dbi expunged;  // (mailbox, MODSEQ) -> UID: what QRESYNC's VANISHED tells
  MDB_dbi changes;   // change number -> mailbox id: which mailboxes the last commits touched
  MDB_dbi modseqs;   // (mailbox, MODSEQ) -> UID: what changed in a mailbox since a MODSEQ
};

// LMDB's handles behind a Txn or a Store, for the store's own files
// (check.cc, group_commit.cc) and its tests.
struct TxnAccess {
  static MDB_txn* raw(const Txn& t) { return t.raw(); }
  static const Dbs& dbs(const Txn& t) { return t.dbs(); }
  static MDB_env* env(const Store& s) { return s.env(); }
  static const Dbs& dbs(const Store& s) { return s.dbs(); }
};

}  // namespace gannet::store
