// Changing messages (RFC 3501 6.4, RFC 4315 UIDPLUS, RFC 6851 MOVE): STORE,
// EXPUNGE, COPY and MOVE, with their UID forms. Each is one store write;
// the answers come once it is durable.
#include "mail/lexer.h"
#include "imap_flags.h"
#include "imap_session.h"
#include "imap_view.h"
#include "store/store_module.h"
#include "worker.h"

namespace gannet::imap {

using mail::iequals;

// STORE set [(UNCHANGEDSINCE modseq)] (+|-)FLAGS[.SILENT] flags
void ImapSession::cmd_store(const Command& c) {
  bool by_uid = c.name == "UID STORE";
  std::vector<Arg> args = c.args;
  std::optional<uint64_t> unchangedsince;  // RFC 7162 3.1.3
  if (args.size() == 4 && args[1].kind == Arg::Kind::list) {
    const auto& m = args[1].items;
    if (m.size() != 2 || !m[0].is("UNCHANGEDSINCE") || !(unchangedsince = parse_digits(m[1].text)))
      return tagged(c, "BAD Invalid STORE modifier");
    condstore_ = true;
    args.erase(args.begin() + 1);
  }
  if (args.size() != 3 || args[0].kind != Arg::Kind::atom || args[1].kind != Arg::Kind::atom)
    return tagged(c, "BAD Syntax: STORE set [(UNCHANGEDSINCE n)] (+|-)FLAGS[.SILENT] (flags)");
  if (view_->read_only) return tagged(c, "NO [READ-ONLY] Mailbox is read-only");
  auto set = sequence_set(args[0].text, by_uid);
  if (!set) return tagged(c, "BAD Invalid sequence set");
  std::string op = to_upper(args[1].text);
  int mode = op.starts_with('+') ? 1 : op.starts_with('-') ? -1 : 0;
  if (mode) op.erase(0, 1);
  bool silent = op == "FLAGS.SILENT";
  if (op != "FLAGS" && !silent) return tagged(c, "BAD Syntax: STORE set (+|-)FLAGS[.SILENT] (flags)");
  uint32_t flags;
  std::vector<std::string> keywords;
  if (!parse_flags(args[2], flags, keywords)) return tagged(c, "BAD Invalid flag");
  auto found = targets(*set, by_uid);
  if (!found) return tagged(c, "BAD Invalid sequence number");

  // What each message became: (seq, uid, flags, keywords, modseq).
  struct Result {
    uint32_t seq, uid, flags;
    std::vector<std::string> keywords;
    uint64_t modseq;
  };
  auto results = std::make_shared<std::vector<Result>>();
  auto modified = std::make_shared<std::vector<uint32_t>>();  // failed UNCHANGEDSINCE: seq or UID
  uint32_t mailbox = view_->mailbox_id;
  busy();
  std::string tag = c.tag, name = c.name;
  worker_store()->write(
      conn_.worker().loop(),
      [mailbox, targets = std::move(*found), flags, keywords, mode, results, modified, unchangedsince,
       by_uid](store::Txn& t) {
        results->clear();
        modified->clear();
        for (auto [seq, uid] : targets) {
          auto m = t.message(mailbox, uid);
          if (!m) continue;  // expunged meanwhile: nothing to say of it
          if (unchangedsince && m->modseq > *unchangedsince) {
            modified->push_back(by_uid ? uid : seq);
            continue;
          }
          uint32_t f = mode > 0 ? m->flags | flags : mode < 0 ? m->flags & ~flags : flags;
          std::vector<std::string> k = mode == 0 ? keywords : m->keywords;
          for (auto& kw : keywords) {
            auto at = std::find_if(k.begin(), k.end(), [&](auto& x) { return iequals(x, kw); });
            if (mode > 0 && at == k.end()) k.push_back(kw);
            if (mode < 0 && at != k.end()) k.erase(at);
          }
          if (f != m->flags || k != m->keywords) {
            if (auto s = t.set_flags(mailbox, uid, f, k); s != store::Status::ok) return s;
            m = t.message(mailbox, uid);
          }
          results->push_back({seq, uid, m->flags, m->keywords, m->modseq});
        }
        return store::Status::ok;
      },
      [this, alive = alive_, results, modified, silent, by_uid, tag, name](store::Status s) {
        if (!*alive) return;
        if (s != store::Status::ok) {
          tagged(tag, name, "NO [SERVERBUG] Could not store the flags");
          return ready();
        }
        for (auto& r : *results) {
          view_->own.emplace_back(r.uid, r.modseq);
          // Under CONDSTORE a change is told with its MODSEQ even when
          // .SILENT (RFC 7162 3.2).
          if (silent && !condstore_) continue;
          send("* " + std::to_string(r.seq) + " FETCH (" + (by_uid ? "UID " + std::to_string(r.uid) + " " : "") +
               "FLAGS " + flags_text(r.flags, r.keywords) +
               (condstore_ ? " MODSEQ (" + std::to_string(r.modseq) + ")" : "") + ")");
        }
        if (!modified->empty())
          tagged(tag, name, "OK [MODIFIED " + set_text(*modified) + "] Conditional STORE failed");
        else
          tagged(tag, name, "OK " + name + " completed");
        ready();
      });
}

// EXPUNGE removes every \Deleted message; UID EXPUNGE only those of a set.
// The EXPUNGE responses come from sync, as for anyone else's expunge.
void ImapSession::cmd_expunge(const Command& c) {
  bool by_uid = c.name == "UID EXPUNGE";
  if (c.args.size() != (by_uid ? 1u : 0u)) return tagged(c, by_uid ? "BAD Syntax: UID EXPUNGE set" : "BAD Syntax: EXPUNGE");
  if (view_->read_only) return tagged(c, "NO [READ-ONLY] Mailbox is read-only");
  std::vector<uint32_t> uids = view_->uids;
  if (by_uid) {
    auto set = sequence_set(c.args[0].text, true);
    if (!set) return tagged(c, "BAD Invalid sequence set");
    auto found = targets(*set, true);
    uids.clear();
    for (auto [seq, uid] : *found) uids.push_back(uid);
  }
  uint32_t mailbox = view_->mailbox_id;
  write_and_answer(c, [mailbox, uids](store::Txn& t) {
    for (uint32_t uid : uids) {
      auto m = t.message(mailbox, uid);
      if (!m || !(m->flags & store::FLAG_DELETED)) continue;
      if (auto s = t.expunge(mailbox, uid); s != store::Status::ok) return s;
    }
    return store::Status::ok;
  });
}

// COPY and MOVE: into another of the user's mailboxes, in UID order; the
// answer names the new UIDs (COPYUID). MOVE then expunges the originals.
void ImapSession::cmd_copy(const Command& c) {
  bool by_uid = c.name.starts_with("UID "), move = c.name.ends_with("MOVE");
  if (c.args.size() != 2 || c.args[0].kind != Arg::Kind::atom)
    return tagged(c, "BAD Syntax: " + c.name + " set mailbox");
  if (move && view_->read_only) return tagged(c, "NO [READ-ONLY] Mailbox is read-only");
  auto set = sequence_set(c.args[0].text, by_uid);
  if (!set) return tagged(c, "BAD Invalid sequence set");
  auto name = mailbox_name(c.args[1]);
  auto found = targets(*set, by_uid);
  if (!found) return tagged(c, "BAD Invalid sequence number");
  auto to = name ? worker_store()->read([&](store::Txn& t) { return t.mailbox(user_id_, *name); }) : std::nullopt;
  if (!to) return tagged(c, "NO [TRYCREATE] No such mailbox");
  uint32_t from = view_->mailbox_id;
  auto copied = std::make_shared<std::vector<std::pair<uint32_t, uint32_t>>>();  // (old UID, new UID)
  busy();
  std::string tag = c.tag, cmd = c.name;
  uint32_t validity = to->uidvalidity;
  worker_store()->write(
      conn_.worker().loop(),
      [from, to = to->id, targets = std::move(*found), copied, move](store::Txn& t) {
        copied->clear();
        for (auto [seq, uid] : targets) {
          uint32_t new_uid = 0;
          auto s = t.copy(from, uid, to, &new_uid);
          if (s == store::Status::not_found) continue;  // expunged meanwhile
          if (s != store::Status::ok) return s;
          if (move && (s = t.expunge(from, uid)) != store::Status::ok) return s;
          copied->emplace_back(uid, new_uid);
        }
        return store::Status::ok;
      },
      [this, alive = alive_, copied, tag, cmd, move, validity](store::Status s) {
        if (!*alive) return;
        if (s != store::Status::ok) {
          tagged(tag, cmd, s == store::Status::quota ? "NO [OVERQUOTA] Quota exceeded" : "NO [SERVERBUG] Could not copy");
          return ready();
        }
        std::vector<uint32_t> olds, news;
        for (auto [o, n] : *copied) olds.push_back(o), news.push_back(n);
        std::string code = copied->empty() ? "" : "[COPYUID " + std::to_string(validity) + " " + set_text(olds) + " " +
                                                      set_text(news) + "] ";
        // MOVE tells the new UIDs first, then the expunges (RFC 6851 4.3).
        if (move && !code.empty()) send("* OK " + code + "Moved");
        tagged(tag, cmd, "OK " + (move ? std::string() : code) + cmd + " completed");
        ready();
      });
}

}  // namespace gannet::imap
