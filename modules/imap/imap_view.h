// The selected mailbox as this session knows it: sequence numbers are
// positions in uids; what changed in the store since is found by MODSEQ and
// told at the next point the RFC allows (ImapSession::sync).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "imap_session.h"
#include "store/txn.h"

namespace gannet::imap {

struct ImapSession::View {
  uint32_t mailbox_id = 0;
  std::string name;
  uint32_t uidvalidity = 0;
  uint32_t uidnext = 1;
  uint64_t modseq = 0;        // the store's HIGHESTMODSEQ when last told
  uint32_t first_unseen = 0;  // a sequence number; 0: none
  bool read_only = false;
  std::vector<uint32_t> gone;  // expunged in the store, not yet told (no EXPUNGE allowed then)
  std::vector<uint32_t> uids;
  // Changes this session made and told itself: sync does not tell them
  // again (UID, the MODSEQ the change got).
  std::vector<std::pair<uint32_t, uint64_t>> own;

  void load(store::Txn& t, const store::Mailbox& mb, bool examine) {
    mailbox_id = mb.id;
    name = mb.name;
    uidvalidity = mb.uidvalidity;
    uidnext = mb.uidnext;
    modseq = mb.highestmodseq;
    read_only = examine;
    for (auto& m : t.messages(mb.id)) {
      uids.push_back(m.uid);
      if (!first_unseen && !(m.flags & store::FLAG_SEEN)) first_unseen = static_cast<uint32_t>(uids.size());
    }
  }
};

}  // namespace gannet::imap
