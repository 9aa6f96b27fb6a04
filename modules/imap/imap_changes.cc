// Telling a session what others changed in its mailbox (RFC 3501 7.3.1,
// 7.4.1, 5.2): other sessions in any worker, SMTP deliveries, gannetctl.
// At the end of each command, and at once during IDLE (RFC 2177).
#include "imap_flags.h"
#include "imap_session.h"
#include "imap_view.h"
#include "store/change_feed.h"
#include "store/store_module.h"

namespace gannet::imap {

// The view against the store, from what changed since the view's MODSEQ
// only: the expunge tombstones, the MODSEQ index and the UIDs past the
// last one known, never a scan of the mailbox. Nothing is read past the
// mailbox record when nothing changed.
void ImapSession::sync(bool expunges) {
  View& v = *view_;
  worker_store()->read([&](store::Txn& t) {
    auto mb = t.mailbox_by_id(v.mailbox_id);
    if (!mb) {  // deleted under us (RFC 9051 7.1: the selection ends)
      send("* BYE Mailbox deleted by another session");
      state_ = State::logout;
      conn_.close("mailbox deleted");
      return 0;
    }
    if (mb->highestmodseq == v.modseq && !(expunges && !v.gone.empty())) return 0;
    // Expunged: told only where the RFC allows, else kept for later.
    for (uint32_t uid : t.expunged_since(v.mailbox_id, v.modseq))
      if (std::binary_search(v.uids.begin(), v.uids.end(), uid)) v.gone.push_back(uid);
    if (expunges && !v.gone.empty()) {
      std::sort(v.gone.begin(), v.gone.end());
      std::vector<uint32_t> kept, went;
      kept.reserve(v.uids.size());
      // Told from the last down, so each sequence number is right when read.
      for (size_t i = v.uids.size(); i-- > 0;) {
        if (!std::binary_search(v.gone.begin(), v.gone.end(), v.uids[i])) continue;
        if (qresync_) went.push_back(v.uids[i]);
        else send("* " + std::to_string(i + 1) + " EXPUNGE");
      }
      for (uint32_t uid : v.uids)
        if (!std::binary_search(v.gone.begin(), v.gone.end(), uid)) kept.push_back(uid);
      vanished(went, false);  // QRESYNC says it by UID (RFC 7162 3.2.10)
      v.uids = std::move(kept);
      v.gone.clear();
    }
    // Flags changed by others, for messages the client already knows.
    uint32_t known_last = v.uids.empty() ? 0 : v.uids.back();
    for (uint32_t uid : t.changed_since(v.mailbox_id, v.modseq)) {
      if (uid > known_last) break;  // ascending: the rest are new
      auto it = std::lower_bound(v.uids.begin(), v.uids.end(), uid);
      if (it == v.uids.end() || *it != uid) continue;
      auto m = t.message(v.mailbox_id, uid);
      if (!m || std::find(v.own.begin(), v.own.end(), std::make_pair(m->uid, m->modseq)) != v.own.end()) continue;
      send("* " + std::to_string(it - v.uids.begin() + 1) + " FETCH (UID " + std::to_string(m->uid) + " FLAGS " +
           flags_text(m->flags, m->keywords) + (condstore_ ? " MODSEQ (" + std::to_string(m->modseq) + ")" : "") + ")");
    }
    // New messages: past the last UID the view has.
    size_t before = v.uids.size();
    if (mb->uidnext > known_last + 1)
      for (auto& m : t.messages(v.mailbox_id, known_last + 1)) v.uids.push_back(m.uid);
    if (v.uids.size() != before) send("* " + std::to_string(v.uids.size()) + " EXISTS");
    v.uidnext = mb->uidnext;
    v.modseq = mb->highestmodseq;
    v.own.clear();
    return 0;
  });
}

// IDLE: changes are told as they commit, until the client says DONE.
void ImapSession::cmd_idle(const Command& c) {
  if (!c.args.empty()) return tagged(c, "BAD IDLE takes no arguments");
  if (view_) sync(true);
  idle_tag_ = c.tag;
  send("+ idling");
  // IDLE outside a mailbox waits for DONE alone.
  if (!view_) return;
  idle_token_ = worker_change_feed().subscribe(view_->mailbox_id, [this] {
    if (view_ && state_ == State::selected) sync(true);
  });
}

void ImapSession::idle_done(std::string_view line) {
  if (idle_token_) worker_change_feed().unsubscribe(*idle_token_);
  idle_token_.reset();
  std::string tag = std::move(idle_tag_);
  idle_tag_.clear();
  if (line.size() != 4 || strncasecmp(line.data(), "DONE", 4) != 0) return bad(tag, "Expected DONE");
  tagged(tag, "IDLE", "OK IDLE terminated");
}

}  // namespace gannet::imap
