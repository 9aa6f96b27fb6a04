// FETCH and UID FETCH (RFC 3501 6.4.5, RFC 9051 6.4.5): the items asked
// for, each message's answer from the store's index and its cached parse.
#include <ctime>
#include <deque>

#include "imap_fetch_items.h"
#include "imap_flags.h"
#include "imap_session.h"
#include "imap_structure.h"
#include "imap_view.h"
#include "mail/decode.h"
#include "mail/message_parser.h"
#include "store/store_module.h"
#include "worker.h"

namespace gannet::imap {

namespace {

// date-time = DQUOTE date-day-fixed "-" date-month "-" date-year SP time SP zone DQUOTE
std::string internal_date(int64_t t) {
  time_t tt = static_cast<time_t>(t);
  tm tm;
  gmtime_r(&tt, &tm);
  char buf[40];
  strftime(buf, sizeof buf, "\"%d-%b-%Y %H:%M:%S +0000\"", &tm);
  return buf;
}

// A piece of a FETCH response: text, or octets [from, to) of a stored
// body, sent a chunk at a time as the socket drains.
struct Segment {
  std::string text;
  uint64_t body_id = 0, from = 0, to = 0;
};

// Sections up to this size are copied into the response at once; larger
// ones stream.
constexpr uint64_t kInlineSection = 16 << 10;
constexpr uint64_t kChunk = 64 << 10;
constexpr size_t kBatch = 256;  // index records read per range scan

// One message's answer as segments, reading its body and parse at most once.
class MessageData {
 public:
  MessageData(store::Txn& t, const store::Message& m) : t_(t), m_(m) {}

  // The part with its Content-Transfer-Encoding undone; the whole message,
  // or a part that is not a leaf, as it is. Sent as a literal8 if it holds
  // a NUL (RFC 3516 4.2).
  void binary(const FetchItem& it, std::string& text) {
    std::string data;
    if (it.section.part.empty()) {
      data = whole();
    } else {
      uint32_t i = mail::find_section(parsed(), it.section.part);
      if (i == mail::Part::none) {
        text += it.kind == FetchItem::binary_size ? "0" : "\"\"";
        return;
      }
      const mail::Part& p = parsed().parts[i];
      std::string_view raw = whole().substr(std::min<uint64_t>(p.body_start, whole().size()), p.size());
      bool leaf = !p.multipart() && !p.message();
      data = leaf ? mail::decode_transfer(raw, p.encoding) : std::string(raw);
    }
    if (it.kind == FetchItem::binary_size) {
      text += std::to_string(data.size());
      return;
    }
    if (it.partial) data = it.offset >= data.size() ? std::string() : data.substr(it.offset, it.length);
    text += (data.find('\0') != std::string::npos ? "~{" : "{") + std::to_string(data.size()) + "}\r\n" + data;
  }

  void item(const FetchItem& it, std::vector<Segment>& out) {
    std::string& text = out.back().text;
    switch (it.kind) {
      case FetchItem::flags: text += flags_text(m_.flags, m_.keywords); return;
      case FetchItem::uid: text += std::to_string(m_.uid); return;
      case FetchItem::size: text += std::to_string(m_.size); return;
      case FetchItem::internaldate: text += internal_date(m_.internal_date); return;
      case FetchItem::envelope: text += imap::envelope(parsed().envelopes.at(0)); return;
      case FetchItem::body: text += body_structure(parsed(), 0, false); return;
      case FetchItem::bodystructure: text += body_structure(parsed(), 0, true); return;
      case FetchItem::modseq: text += "(" + std::to_string(m_.modseq) + ")"; return;
      case FetchItem::binary:
      case FetchItem::binary_size: return binary(it, text);
      case FetchItem::body_section: break;
    }
    // A section the message does not have is empty (RFC 9051 6.4.5).
    auto range = section_range(whole().size(), parsed(), it.section);
    if (!range || range->first == range->second) {  // none, or a HEADER.FIELDS kind: made here, small
      std::string s = range ? section_octets(whole(), parsed(), it.section).value_or("") : "";
      if (it.partial) s = it.offset >= s.size() ? std::string() : s.substr(it.offset, it.length);
      text += "{" + std::to_string(s.size()) + "}\r\n" + s;
      return;
    }
    auto [from, to] = *range;
    if (it.partial) {
      from = std::min(to, from + it.offset);
      to = std::min(to, from + it.length);
    }
    text += "{" + std::to_string(to - from) + "}\r\n";
    if (to - from <= kInlineSection) {
      text += whole().substr(from, to - from);
      return;
    }
    out.push_back({{}, m_.body_id, from, to});
    out.push_back({});
  }

 private:
  std::string_view whole() {
    if (!body_) body_ = t_.body(m_.body_id).value_or(std::string_view());
    return *body_;
  }
  // The parse cached at delivery; made now for a body stored without one.
  const mail::ParsedMessage& parsed() {
    if (!parsed_) {
      parsed_.emplace();
      auto info = t_.body_info(m_.body_id);
      if (!info || !mail::decode_meta(info->meta, *parsed_)) *parsed_ = mail::parse_message(whole());
    }
    return *parsed_;
  }

  store::Txn& t_;
  const store::Message& m_;
  std::optional<std::string_view> body_;
  std::optional<mail::ParsedMessage> parsed_;
};

}  // namespace

struct ImapSession::Fetch {
  Command c;
  std::vector<FetchItem> items;
  std::vector<std::pair<uint32_t, uint32_t>> targets;  // (sequence number, UID)
  uint32_t mailbox = 0;
  uint64_t changedsince = 0;       // CHANGEDSINCE: only messages changed after
  size_t next = 0;                 // the next target to answer
  std::vector<store::Message> batch;  // index records of the targets before batch_end
  size_t batch_at = 0, batch_end = 0;
  std::deque<Segment> segments;    // what is left of the current answer
};

void ImapSession::fetch(const Command& c, bool by_uid) {
  if ((c.args.size() != 2 && c.args.size() != 3) || c.args[0].kind != Arg::Kind::atom)
    return tagged(c, "BAD Syntax: FETCH sequence-set items [(modifiers)]");
  auto set = sequence_set(c.args[0].text, by_uid);
  if (!set) return tagged(c, "BAD Invalid sequence set");
  // RFC 7162: (CHANGEDSINCE modseq [VANISHED])
  uint64_t changedsince = 0;
  bool vanished_too = false;
  if (c.args.size() == 3) {
    const Arg& mods = c.args[2];
    bool ok = mods.kind == Arg::Kind::list && !mods.items.empty();
    for (size_t i = 0; ok && i < mods.items.size(); i++) {
      if (mods.items[i].is("CHANGEDSINCE") && i + 1 < mods.items.size()) {
        auto n = parse_digits(mods.items[++i].text);
        ok = n.has_value();
        changedsince = n.value_or(0);
      } else if (mods.items[i].is("VANISHED")) {
        vanished_too = true;
      } else {
        ok = false;
      }
    }
    if (!ok || !changedsince) return tagged(c, "BAD Invalid FETCH modifiers");
    if (vanished_too && (!by_uid || !qresync_)) return tagged(c, "BAD VANISHED needs UID FETCH and ENABLE QRESYNC");
    condstore_ = true;
  }
  std::vector<FetchItem> items;
  if (!parse_fetch_items(c.args[1], items)) return tagged(c, "BAD Unknown or unsupported FETCH item");
  bool has_modseq = std::any_of(items.begin(), items.end(), [](auto& i) { return i.kind == FetchItem::modseq; });
  if (has_modseq) condstore_ = true;
  if (changedsince && !has_modseq) items.push_back(FetchItem::of(FetchItem::modseq, "MODSEQ"));
  if (by_uid && std::none_of(items.begin(), items.end(), [](auto& i) { return i.kind == FetchItem::uid; }))
    items.insert(items.begin(), FetchItem::of(FetchItem::uid, "UID"));
  bool sets_seen = !view_->read_only && std::any_of(items.begin(), items.end(), [](auto& i) {
    return (i.kind == FetchItem::body_section || i.kind == FetchItem::binary) && !i.peek;
  });
  if (sets_seen && std::none_of(items.begin(), items.end(), [](auto& i) { return i.kind == FetchItem::flags; }))
    items.push_back(FetchItem::of(FetchItem::flags, "FLAGS"));

  auto found = targets(*set, by_uid);
  if (!found) return tagged(c, "BAD Invalid sequence number");
  auto targets = std::move(*found);

  uint32_t mailbox = view_->mailbox_id;
  if (vanished_too) {
    auto gone = worker_store()->read([&](store::Txn& t) { return t.expunged_since(mailbox, changedsince); });
    uint32_t last = view_->uids.empty() ? 0 : view_->uids.back();
    std::erase_if(gone, [&](uint32_t uid) { return !in_set(*set, uid, std::max(last, uid)); });
    vanished(gone, true);
  }
  auto answer = [this, c, items, targets, mailbox, changedsince] {
    fetch_.reset(new Fetch{c, items, targets, mailbox, changedsince, 0, {}, 0, 0, {}});
    busy();
    continue_fetch();
  };
  // A body fetched without PEEK is \Seen from now on: stored first, so
  // the FLAGS this answer carries are the store's.
  if (!sets_seen) return answer();
  busy();
  auto own = std::make_shared<std::vector<std::pair<uint32_t, uint64_t>>>();
  worker_store()->write(
      conn_.worker().loop(),
      [mailbox, targets, own](store::Txn& t) {
        own->clear();  // a retried op starts over
        for (auto [seq, uid] : targets) {
          auto m = t.message(mailbox, uid);
          if (!m || (m->flags & store::FLAG_SEEN)) continue;
          if (auto s = t.set_flags(mailbox, uid, m->flags | store::FLAG_SEEN, m->keywords); s != store::Status::ok)
            return s;
          own->emplace_back(uid, t.message(mailbox, uid)->modseq);
        }
        return store::Status::ok;
      },
      [this, alive = alive_, answer, own](store::Status s) {
        if (!*alive) return;
        if (s == store::Status::ok && view_) view_->own = std::move(*own);
        answer();
      });
}

// Writes answers until the output queue is full, then waits for it to
// drain (on_writable); a read transaction never outlives one call.
void ImapSession::continue_fetch() {
  Fetch& f = *fetch_;
  bool done = false;
  worker_store()->read([&](store::Txn& t) {
    while (!conn_.output_full()) {
      if (!f.segments.empty()) {
        Segment& seg = f.segments.front();
        if (seg.body_id) {
          uint64_t n = std::min(kChunk, seg.to - seg.from);
          auto body = t.body(seg.body_id);
          if (!body || seg.to > body->size()) {  // gone since (expunged, freed): the stream cannot be kept
            send("* BYE Message vanished while it was being sent");
            state_ = State::logout;
            conn_.close("fetch lost its message");
            return 0;
          }
          conn_.write(body->substr(seg.from, n));
          if ((seg.from += n) < seg.to) continue;
        } else {
          conn_.write(seg.text);
        }
        f.segments.pop_front();
        continue;
      }
      if (f.next == f.targets.size()) {
        done = true;
        return 0;
      }
      // The index records come a batch at a time, in one range scan of the
      // UIDs the next targets span.
      auto [seq, uid] = f.targets[f.next];
      if (f.next >= f.batch_end) {
        f.batch_end = std::min(f.targets.size(), f.next + kBatch);
        f.batch = t.messages(f.mailbox, uid, f.targets[f.batch_end - 1].second);
        f.batch_at = 0;
      }
      f.next++;
      while (f.batch_at < f.batch.size() && f.batch[f.batch_at].uid < uid) f.batch_at++;
      if (f.batch_at >= f.batch.size() || f.batch[f.batch_at].uid != uid) continue;  // expunged: told later
      const store::Message* m = &f.batch[f.batch_at];
      if (m->modseq <= f.changedsince) continue;
      std::vector<Segment> parts(1);
      parts[0].text = "* " + std::to_string(seq) + " FETCH (";
      MessageData data{t, *m};
      for (size_t i = 0; i < f.items.size(); i++) {
        parts.back().text += (i ? " " : "") + f.items[i].name + " ";
        data.item(f.items[i], parts);
      }
      parts.back().text += ")\r\n";
      f.segments.insert(f.segments.end(), std::make_move_iterator(parts.begin()), std::make_move_iterator(parts.end()));
    }
    return 0;
  });
  if (state_ == State::logout) return;
  if (!done) return conn_.notify_when_writable();
  Command c = std::move(f.c);
  fetch_.reset();
  tagged(c, "OK " + c.name + " completed");
  ready();
}

void ImapSession::FetchDeleter::operator()(Fetch* f) const { delete f; }

void ImapSession::on_writable() {
  if (fetch_) continue_fetch();
}

std::optional<std::vector<std::pair<uint32_t, uint32_t>>> ImapSession::targets(const std::vector<Range>& set,
                                                                              bool by_uid) const {
  const auto& uids = view_->uids;
  uint32_t star = by_uid ? (uids.empty() ? 0 : uids.back()) : static_cast<uint32_t>(uids.size());
  if (!by_uid && std::any_of(set.begin(), set.end(), [&](Range r) { return std::max(r.lo, r.hi) > star; }))
    return std::nullopt;
  std::vector<std::pair<uint32_t, uint32_t>> out;
  for (size_t i = 0; i < uids.size(); i++) {
    uint32_t seq = static_cast<uint32_t>(i + 1);
    if (in_set(set, by_uid ? uids[i] : seq, star)) out.emplace_back(seq, uids[i]);
  }
  return out;
}

}  // namespace gannet::imap
