// The selected mailbox as this session knows it: sequence numbers are
// positions in uids.
#pragma once

#include <cstdint>
#include <vector>

#include "imap_session.h"
#include "store/txn.h"

namespace gannet::imap {

struct ImapSession::View {
  uint32_t mailbox_id = 0;
  uint32_t uidvalidity = 0;
  uint32_t uidnext = 1;
  uint32_t first_unseen = 0;  // a sequence number; 0: none
  bool read_only = false;
  std::vector<uint32_t> uids;

  void load(store::Txn& t, const store::Mailbox& mb, bool examine) {
    mailbox_id = mb.id;
    uidvalidity = mb.uidvalidity;
    uidnext = mb.uidnext;
    read_only = examine;
    for (auto& m : t.messages(mb.id)) {
      uids.push_back(m.uid);
      if (!first_unseen && !(m.flags & store::FLAG_SEEN)) first_unseen = static_cast<uint32_t>(uids.size());
    }
  }
};

}  // namespace gannet::imap
