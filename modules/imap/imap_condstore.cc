// CONDSTORE and QRESYNC (RFC 7162): a client that remembers a mailbox's
// MODSEQ learns, at SELECT, only what changed since and which UIDs went
// (VANISHED, from the store's tombstones), instead of reading it all again.
#include "imap_flags.h"
#include "imap_session.h"
#include "imap_view.h"
#include "store/store_module.h"

namespace gannet::imap {

namespace {

std::optional<uint64_t> number(const Arg& a) {
  return a.kind == Arg::Kind::atom ? parse_digits(a.text) : std::nullopt;
}

}  // namespace

// (CONDSTORE) or (QRESYNC (uidvalidity modseq [known-uids [seq-match]])).
std::string ImapSession::select_params(const Arg& params, std::optional<Resync>& resync) {
  if (params.kind != Arg::Kind::list) return "Invalid SELECT parameters";
  for (size_t i = 0; i < params.items.size(); i++) {
    const Arg& p = params.items[i];
    if (p.is("CONDSTORE")) {
      condstore_ = true;
      continue;
    }
    if (!p.is("QRESYNC")) return "Unknown SELECT parameter";
    if (!qresync_) return "QRESYNC needs ENABLE QRESYNC first";
    if (++i >= params.items.size() || params.items[i].kind != Arg::Kind::list) return "Syntax: QRESYNC (uidvalidity modseq [known-uids])";
    const auto& q = params.items[i].items;
    auto validity = q.size() >= 2 ? number(q[0]) : std::nullopt;
    auto modseq = q.size() >= 2 ? number(q[1]) : std::nullopt;
    if (!validity || !modseq || *validity == 0 || *validity > UINT32_MAX || *modseq == 0 || q.size() > 4)
      return "Syntax: QRESYNC (uidvalidity modseq [known-uids])";
    Resync r{static_cast<uint32_t>(*validity), *modseq, {}};
    if (q.size() >= 3) {
      auto known = q[2].kind == Arg::Kind::atom ? parse_sequence_set(q[2].text) : std::nullopt;
      if (!known) return "Invalid known-uids";
      r.known = std::move(*known);
    }
    // A sequence-match list (q[3]) only narrows what VANISHED says; all of
    // it is said instead, which RFC 7162 3.2.5.2 allows.
    resync = std::move(r);
  }
  return {};
}

// After SELECT's answers: what went and what changed since the client's
// MODSEQ, if the mailbox is still the one it knew (same UIDVALIDITY).
void ImapSession::resynchronise(const Resync& r) {
  View& v = *view_;
  if (r.uidvalidity != v.uidvalidity) return;
  uint32_t last = v.uids.empty() ? 0 : v.uids.back();
  worker_store()->read([&](store::Txn& t) {
    auto gone = t.expunged_since(v.mailbox_id, r.modseq);
    if (!r.known.empty()) std::erase_if(gone, [&](uint32_t uid) { return !in_set(r.known, uid, last); });
    vanished(gone, true);
    // One scan: the view was loaded from the same mailbox a moment ago.
    uint32_t seq = 0;
    for (auto& m : t.messages(v.mailbox_id)) {
      seq++;
      if (m.modseq <= r.modseq) continue;
      send("* " + std::to_string(seq) + " FETCH (UID " + std::to_string(m.uid) + " FLAGS " +
           flags_text(m.flags, m.keywords) + " MODSEQ (" + std::to_string(m.modseq) + "))");
    }
    return 0;
  });
}

void ImapSession::vanished(const std::vector<uint32_t>& uids, bool earlier) {
  if (uids.empty()) return;
  send(std::string("* VANISHED ") + (earlier ? "(EARLIER) " : "") + set_text(uids));
}

}  // namespace gannet::imap
