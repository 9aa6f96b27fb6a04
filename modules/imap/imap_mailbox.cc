// Mailboxes as a whole (RFC 3501 6.3, RFC 9051 6.3): CREATE, DELETE,
// RENAME, SUBSCRIBE, UNSUBSCRIBE, LSUB and STATUS.
#include "imap_session.h"
#include "imap_view.h"
#include "mail/lexer.h"
#include "store/mutf7.h"
#include "store/store_module.h"
#include "worker.h"

namespace gannet::imap {

namespace {

// A name a client may make: no empty level, no '/' at either end, and
// not INBOX, which always exists.
bool creatable(const std::string& name) {
  return !name.empty() && name.front() != '/' && name.back() != '/' && name.find("//") == std::string::npos &&
         name != "INBOX";
}

// "\Sent" -> SpecialUse::sent; nullopt for what the store has no use for.
std::optional<store::SpecialUse> special_use_of(std::string_view flag) {
  using store::SpecialUse;
  for (auto u : {SpecialUse::sent, SpecialUse::drafts, SpecialUse::trash, SpecialUse::junk, SpecialUse::archive})
    if (mail::iequals(flag, store::special_use_name(u))) return u;
  return std::nullopt;
}

// What a store write's status tells the client.
std::string status_reply(store::Status s, const std::string& ok_text) {
  switch (s) {
    case store::Status::ok: return "OK " + ok_text;
    case store::Status::exists: return "NO [ALREADYEXISTS] Mailbox already exists";
    case store::Status::not_found: return "NO [NONEXISTENT] Mailbox doesn't exist";
    case store::Status::invalid: return "NO [CANNOT] Not possible for this mailbox";
    case store::Status::quota: return "NO [OVERQUOTA] Quota exceeded";
    case store::Status::map_full: return "NO [LIMIT] The store is full";
    default: return "NO [SERVERBUG] Internal error";
  }
}

}  // namespace

// Runs a store write for a mailbox command and answers it: OK, or the NO
// the store's status means.
void ImapSession::write_and_answer(const Command& c, store::Store::Op op, std::string ok_text) {
  busy();
  std::string tag = c.tag, name = c.name;
  worker_store()->write(conn_.worker().loop(), std::move(op),
                        [this, alive = alive_, tag, name, ok_text](store::Status s) {
                          if (!*alive) return;
                          tagged(tag, name, status_reply(s, ok_text.empty() ? name + " completed" : ok_text));
                          ready();
                        });
}

// CREATE mailbox [(USE (\Special))] (RFC 6154 CREATE-SPECIAL-USE).
void ImapSession::cmd_create(const Command& c) {
  if (c.args.size() != 1 && c.args.size() != 2) return tagged(c, "BAD Syntax: CREATE mailbox [(USE (flags))]");
  store::SpecialUse use = store::SpecialUse::none;
  if (c.args.size() == 2) {
    const Arg& p = c.args[1];
    if (p.kind != Arg::Kind::list || p.items.size() != 2 || !p.items[0].is("USE") ||
        p.items[1].kind != Arg::Kind::list || p.items[1].items.size() > 1)
      return tagged(c, "BAD Syntax: CREATE mailbox [(USE (flags))]");
    if (p.items[1].items.size() == 1) {
      auto u = special_use_of(p.items[1].items[0].text);
      if (!u) return tagged(c, "NO [USEATTR] Unknown special use");
      use = *u;
    }
  }
  auto name = mailbox_name(c.args[0]);
  if (name && name->size() > 1 && name->back() == '/') name->pop_back();  // "foo/" creates "foo" (RFC 3501 6.3.3)
  if (name && *name == "INBOX") return tagged(c, "NO [ALREADYEXISTS] INBOX exists");
  if (!name || !creatable(*name)) return tagged(c, "NO [CANNOT] Invalid mailbox name");
  uint32_t user = user_id_;
  write_and_answer(c, [user, name = *name, use](store::Txn& t) {
    // Every missing level above it is made too, as a mailbox of its own.
    for (size_t slash = name.find('/'); slash != std::string::npos; slash = name.find('/', slash + 1)) {
      auto s = t.create_mailbox(user, name.substr(0, slash), store::SpecialUse::none);
      if (s != store::Status::ok && s != store::Status::exists) return s;
    }
    return t.create_mailbox(user, name, use);
  });
}

void ImapSession::cmd_delete(const Command& c) {
  if (c.args.size() != 1) return tagged(c, "BAD Syntax: DELETE mailbox");
  auto name = mailbox_name(c.args[0]);
  if (!name) return tagged(c, "NO [NONEXISTENT] Mailbox doesn't exist");
  if (*name == "INBOX") return tagged(c, "NO [CANNOT] INBOX cannot be deleted");
  uint32_t user = user_id_;
  if (view_ && view_->name == *name) {  // deleting the selected mailbox ends the selection
    view_.reset();
    state_ = State::authenticated;
  }
  write_and_answer(c, [user, name = *name](store::Txn& t) {
    auto mb = t.mailbox(user, name);
    if (!mb) return store::Status::not_found;
    // A mailbox with others below it keeps its place: RFC 3501 6.3.4 says
    // such a DELETE fails.
    for (auto& other : t.mailboxes(user))
      if (other.name.starts_with(name + "/")) return store::Status::invalid;
    return t.delete_mailbox(mb->id);
  });
}

void ImapSession::cmd_rename(const Command& c) {
  if (c.args.size() != 2) return tagged(c, "BAD Syntax: RENAME from to");
  auto from = mailbox_name(c.args[0]), to = mailbox_name(c.args[1]);
  if (!from) return tagged(c, "NO [NONEXISTENT] Mailbox doesn't exist");
  if (!to || !creatable(*to)) return tagged(c, "NO [CANNOT] Invalid mailbox name");
  uint32_t user = user_id_;
  write_and_answer(c, [user, from = *from, to = *to](store::Txn& t) {
    auto mb = t.mailbox(user, from);
    if (!mb) return store::Status::not_found;
    if (t.mailbox(user, to)) return store::Status::exists;
    if (from == "INBOX") {
      // RENAME INBOX moves its messages to a new mailbox and leaves INBOX
      // empty (RFC 3501 6.3.5).
      store::Mailbox made;
      if (auto s = t.create_mailbox(user, to, store::SpecialUse::none, &made); s != store::Status::ok) return s;
      for (auto& m : t.messages(mb->id)) {
        if (auto s = t.copy(mb->id, m.uid, made.id); s != store::Status::ok) return s;
        if (auto s = t.expunge(mb->id, m.uid); s != store::Status::ok) return s;
      }
      return store::Status::ok;
    }
    // The mailboxes below it move along.
    for (auto& child : t.mailboxes(user))
      if (child.name.starts_with(from + "/"))
        if (auto s = t.rename_mailbox(child.id, to + child.name.substr(from.size())); s != store::Status::ok) return s;
    return t.rename_mailbox(mb->id, to);
  });
  if (view_ && view_->name == *from && *from != "INBOX") view_->name = *to;
}

void ImapSession::cmd_subscribe(const Command& c) {
  if (c.args.size() != 1) return tagged(c, "BAD Syntax: " + c.name + " mailbox");
  auto name = mailbox_name(c.args[0]);
  if (!name) return tagged(c, "NO [NONEXISTENT] Mailbox doesn't exist");
  bool on = c.name == "SUBSCRIBE";
  uint32_t user = user_id_;
  write_and_answer(c, [user, name = *name, on](store::Txn& t) {
    auto mb = t.mailbox(user, name);
    return mb ? t.set_subscribed(mb->id, on) : store::Status::not_found;
  });
}

// STATUS's items of one mailbox, "MESSAGES 3 UNSEEN 1"; nullopt for an
// item we do not know. Counted from the store, never from a session.
std::optional<std::string> ImapSession::status_items(store::Txn& t, const store::Mailbox& mb,
                                                     const std::vector<Arg>& items) {
  std::string out;
  std::optional<uint32_t> unseen;
  for (auto& a : items) {
    std::string v;
    if (a.is("MESSAGES")) v = std::to_string(mb.messages);
    else if (a.is("UIDNEXT")) v = std::to_string(mb.uidnext);
    else if (a.is("UIDVALIDITY")) v = std::to_string(mb.uidvalidity);
    else if (a.is("RECENT")) v = "0";
    else if (a.is("SIZE")) v = std::to_string(mb.bytes);
    else if (a.is("HIGHESTMODSEQ")) v = std::to_string(mb.highestmodseq);
    else if (a.is("UNSEEN")) {
      if (!unseen) {
        unseen = 0;
        for (auto& m : t.messages(mb.id)) *unseen += !(m.flags & store::FLAG_SEEN);
      }
      v = std::to_string(*unseen);
    } else {
      return std::nullopt;
    }
    out += (out.empty() ? "" : " ") + to_upper(a.text) + " " + v;
  }
  return out;
}

void ImapSession::cmd_status(const Command& c) {
  if (c.args.size() != 2 || c.args[1].kind != Arg::Kind::list || c.args[1].items.empty())
    return tagged(c, "BAD Syntax: STATUS mailbox (items)");
  auto name = mailbox_name(c.args[0]);
  if (!name) return tagged(c, "NO [NONEXISTENT] Mailbox doesn't exist");
  std::optional<std::string> out;
  bool found = worker_store()->read([&](store::Txn& t) {
    auto mb = t.mailbox(user_id_, *name);
    if (mb) out = status_items(t, *mb, c.args[1].items);
    return mb.has_value();
  });
  if (!found) return tagged(c, "NO [NONEXISTENT] Mailbox doesn't exist");
  if (!out) return tagged(c, "BAD Unknown STATUS item");
  send("* STATUS " + astring(c.args[0].text) + " (" + *out + ")");
  tagged(c, "OK STATUS completed");
}

namespace {

// LIST's wildcards (RFC 3501 6.3.8): '*' matches anything, '%' anything
// but the hierarchy delimiter.
bool matches(std::string_view name, std::string_view pattern) {
  if (pattern.empty()) return name.empty();
  if (pattern[0] == '*' || pattern[0] == '%') {
    for (size_t i = 0; i <= name.size(); i++) {
      if (matches(name.substr(i), pattern.substr(1))) return true;
      if (i < name.size() && pattern[0] == '%' && name[i] == '/') return false;
    }
    return false;
  }
  return !name.empty() && name[0] == pattern[0] && matches(name.substr(1), pattern.substr(1));
}

}  // namespace

// LIST [(selection)] reference pattern|(patterns) [RETURN (options)]
// (RFC 5258 LIST-EXTENDED, RFC 5819 LIST-STATUS); LSUB is LIST (SUBSCRIBED).
void ImapSession::list(const Command& c, bool lsub) {
  const auto& a = c.args;
  size_t i = 0;
  bool subscribed_only = lsub, special_only = false, say_subscribed = false;
  const std::vector<Arg>* status = nullptr;
  if (!lsub && i < a.size() && a[i].kind == Arg::Kind::list) {
    for (auto& o : a[i].items) {
      if (o.is("SUBSCRIBED")) subscribed_only = say_subscribed = true;
      else if (o.is("SPECIAL-USE")) special_only = true;
      else if (!o.is("REMOTE") && !o.is("RECURSIVEMATCH")) return tagged(c, "BAD Unknown LIST selection option");
    }
    i++;
  }
  if (a.size() < i + 2 || !a[i].is_string() || (!a[i + 1].is_string() && a[i + 1].kind != Arg::Kind::list))
    return tagged(c, "BAD Syntax: " + c.name + " reference pattern");
  std::string reference = a[i].text;
  std::vector<std::string> patterns;
  if (a[i + 1].kind == Arg::Kind::list) {
    for (auto& p : a[i + 1].items) patterns.push_back(p.text);
  } else {
    patterns.push_back(a[i + 1].text);
  }
  i += 2;
  if (!lsub && i < a.size()) {
    if (!a[i].is("RETURN") || i + 1 >= a.size() || a[i + 1].kind != Arg::Kind::list)
      return tagged(c, "BAD Syntax: LIST ... RETURN (options)");
    const auto& opts = a[i + 1].items;
    for (size_t k = 0; k < opts.size(); k++) {
      if (opts[k].is("SUBSCRIBED")) say_subscribed = true;
      else if (opts[k].is("STATUS") && k + 1 < opts.size() && opts[k + 1].kind == Arg::Kind::list) status = &opts[++k].items;
      else if (!opts[k].is("CHILDREN") && !opts[k].is("SPECIAL-USE")) return tagged(c, "BAD Unknown LIST return option");
    }
    i += 2;
  }
  if (i != a.size()) return tagged(c, "BAD Syntax: " + c.name + " reference pattern");
  if (patterns.size() == 1 && patterns[0].empty()) {  // the hierarchy delimiter and root (RFC 3501 6.3.8)
    send("* " + c.name + " (\\Noselect) \"/\" \"\"");
    return tagged(c, "OK " + c.name + " completed");
  }
  std::string bad_status;
  worker_store()->read([&](store::Txn& t) {
    auto boxes = t.mailboxes(user_id_);
    for (auto& mb : boxes) {
      std::string wire = utf8_ ? mb.name : store::mutf7_encode(mb.name).value_or(mb.name);
      bool hit = std::any_of(patterns.begin(), patterns.end(), [&](const std::string& p) {
        std::string full = reference + p;
        return matches(wire, full) || (mail::iequals(full, "INBOX") && mb.name == "INBOX");
      });
      if (!hit || (subscribed_only && !mb.subscribed) || (special_only && mb.special == store::SpecialUse::none))
        continue;
      std::string attrs = "\\HasNoChildren";
      for (auto& other : boxes)
        if (other.name.size() > mb.name.size() && other.name.starts_with(mb.name + "/")) attrs = "\\HasChildren";
      if (say_subscribed && mb.subscribed) attrs += " \\Subscribed";
      if (const char* special = store::special_use_name(mb.special); *special) attrs += std::string(" ") + special;
      send("* " + c.name + " (" + attrs + ") \"/\" " + astring(wire));
      if (!status) continue;
      auto items = status_items(t, mb, *status);
      if (!items) {
        bad_status = "BAD Unknown STATUS item";
        return 0;
      }
      send("* STATUS " + astring(wire) + " (" + *items + ")");
    }
    return 0;
  });
  tagged(c, bad_status.empty() ? "OK " + c.name + " completed" : bad_status);
}

// QUOTA (RFC 9208): one root, "", per user, with the store's limits on
// octets (told in KiB) and messages. Limits are set with gannetctl.
std::string ImapSession::quota_line() {
  auto u = worker_store()->read([&](store::Txn& t) { return t.user_by_id(user_id_); });
  std::string res;
  if (u && u->quota_bytes)
    res += "STORAGE " + std::to_string((u->used_bytes + 1023) / 1024) + " " + std::to_string(u->quota_bytes / 1024);
  if (u && u->quota_messages)
    res += std::string(res.empty() ? "" : " ") + "MESSAGE " + std::to_string(u->used_messages) + " " +
           std::to_string(u->quota_messages);
  return "* QUOTA \"\" (" + res + ")";
}

void ImapSession::cmd_quota(const Command& c) {
  if (c.name == "SETQUOTA") return tagged(c, "NO [NOPERM] Quotas are set by the administrator");
  if (c.args.size() != 1 || (c.args[0].kind != Arg::Kind::atom && c.args[0].kind != Arg::Kind::string))
    return tagged(c, "BAD Syntax: " + c.name + " name");
  if (c.name == "GETQUOTA") {
    if (!c.args[0].text.empty()) return tagged(c, "NO [NONEXISTENT] No such quota root");
    send(quota_line());
    return tagged(c, "OK GETQUOTA completed");
  }
  auto name = mailbox_name(c.args[0]);
  bool exists = name && worker_store()->read([&](store::Txn& t) { return t.mailbox(user_id_, *name).has_value(); });
  if (!exists) return tagged(c, "NO [NONEXISTENT] Mailbox doesn't exist");
  send("* QUOTAROOT " + astring(c.args[0].text) + " \"\"");
  send(quota_line());
  tagged(c, "OK GETQUOTAROOT completed");
}

}  // namespace gannet::imap
