// SEARCH and UID SEARCH: run on the thread pool, a bounded number of
// messages per read transaction, since a body search reads whole messages
// and must not hold the loop or a snapshot of the store for long.
#include <uv.h>

#include <deque>

#include "imap_search.h"
#include "imap_session.h"
#include "imap_view.h"
#include "store/store_module.h"
#include "worker.h"

namespace gannet::imap {

namespace {

constexpr size_t kPerTransaction = 500;
enum : unsigned { kMin = 1, kMax = 2, kAll = 4, kCount = 8, kSave = 16 };  // ESEARCH's RETURN

struct SearchJob {
  uv_work_t req;
  SearchKey key;
  uint32_t mailbox = 0;
  std::vector<uint32_t> uids;  // the view's, at the time of the command
  bool by_uid = false;
  std::vector<uint32_t> saved;  // "$" as it was when the command came
  std::vector<uint32_t> found;
  std::vector<uint32_t> found_uids;  // for SAVE
  uint64_t highest = 0;  // of the matches' MODSEQs
  std::function<void(SearchJob&)> done;
  std::shared_ptr<bool> alive;  // the session's: a search it no longer waits for is not run
};

void run_search(SearchJob& j);  // below, on a pool thread

// At most kMaxSearching searches of a worker on the thread pool at once;
// the rest wait here. Body searches of big mailboxes, however many, then
// never hold every pool thread, so the store's commits (every session's
// replies) and logins go on beside them.
constexpr int kMaxSearching = 1;
int searching = 0;
std::deque<SearchJob*> waiting;

void start_searches(uv_loop_t* loop) {
  while (searching < kMaxSearching && !waiting.empty()) {
    SearchJob* job = waiting.front();
    waiting.pop_front();
    if (!*job->alive) {
      delete job;
      continue;
    }
    searching++;
    uv_queue_work(
        loop, &job->req, [](uv_work_t* r) { run_search(*static_cast<SearchJob*>(r->data)); },
        [](uv_work_t* r, int) {
          std::unique_ptr<SearchJob> j(static_cast<SearchJob*>(r->data));
          searching--;
          start_searches(r->loop);
          j->done(*j);
        });
  }
}

void run_search(SearchJob& j) {
  uint32_t last_seq = static_cast<uint32_t>(j.uids.size()), last_uid = j.uids.empty() ? 0 : j.uids.back();
  bool body = j.key.needs_body();
  for (size_t from = 0; from < j.uids.size(); from += kPerTransaction) {
    worker_store()->read([&](store::Txn& t) {
      size_t to = std::min(j.uids.size(), from + kPerTransaction);
      // One range scan for the chunk's index records.
      auto records = t.messages(j.mailbox, j.uids[from], j.uids[to - 1]);
      size_t r = 0;
      for (size_t i = from; i < to; i++) {
        while (r < records.size() && records[r].uid < j.uids[i]) r++;
        if (r == records.size() || records[r].uid != j.uids[i]) continue;  // expunged meanwhile
        const store::Message* m = &records[r];
        std::optional<std::string_view> raw;
        std::optional<mail::ParsedMessage> parsed;
        SearchMessage sm{*m, static_cast<uint32_t>(i + 1), last_seq, last_uid, {}, {}, {}, &j.saved};
        if (body) {
          sm.raw = [&]() -> std::string_view {
            if (!raw) raw = t.body(m->body_id).value_or(std::string_view());
            return *raw;
          };
          sm.parsed = [&]() -> const mail::ParsedMessage& {
            if (!parsed) {
              parsed.emplace();
              auto info = t.body_info(m->body_id);
              if (!info || !mail::decode_meta(info->meta, *parsed)) *parsed = mail::parse_message(sm.raw());
            }
            return *parsed;
          };
        }
        if (!matches(j.key, sm)) continue;
        j.found.push_back(j.by_uid ? m->uid : static_cast<uint32_t>(i + 1));
        j.found_uids.push_back(m->uid);
        j.highest = std::max(j.highest, m->modseq);
      }
      return 0;
    });
  }
}

// The ESEARCH answer (RFC 4731): only what RETURN asked for.
std::string esearch(const std::string& tag, bool by_uid, const std::vector<uint32_t>& found, unsigned want,
                    uint64_t highest, bool modseq) {
  std::string out = "* ESEARCH (TAG " + astring(tag) + ")" + (by_uid ? " UID" : "");
  if (!found.empty()) {
    if (want & kMin) out += " MIN " + std::to_string(found.front());
    if (want & kMax) out += " MAX " + std::to_string(found.back());
    if (want & kAll) out += " ALL " + set_text(found);
  }
  if (want & kCount) out += " COUNT " + std::to_string(found.size());
  if (modseq && !found.empty()) out += " MODSEQ " + std::to_string(highest);
  return out;
}

}  // namespace

// SEARCH [RETURN (MIN MAX ALL COUNT SAVE)] [CHARSET name] keys
void ImapSession::cmd_search(const Command& c) {
  auto* job = new SearchJob;
  job->by_uid = c.name == "UID SEARCH";
  size_t first = 0;
  unsigned want = 0;  // RETURN's options; none: the old SEARCH answer
  bool extended = rev2_;
  if (!c.args.empty() && c.args[0].is("RETURN")) {
    if (c.args.size() < 2 || c.args[1].kind != Arg::Kind::list) {
      delete job;
      return tagged(c, "BAD Syntax: SEARCH RETURN (options) keys");
    }
    static const std::pair<std::string_view, unsigned> options[] = {
        {"MIN", kMin}, {"MAX", kMax}, {"ALL", kAll}, {"COUNT", kCount}, {"SAVE", kSave}};
    for (auto& o : c.args[1].items) {
      auto it = std::find_if(std::begin(options), std::end(options), [&](auto& p) { return o.is(p.first); });
      if (it == std::end(options)) {
        delete job;
        return tagged(c, "BAD Unknown RETURN option");
      }
      want |= it->second;
    }
    extended = true;
    first = 2;
  }
  if (extended && want == 0) want = kAll;  // RETURN (), or rev2's plain SEARCH
  if (auto err = parse_search(c.args, first, job->key)) {
    delete job;
    if (*err == "charset") return tagged(c, "NO [BADCHARSET (UTF-8 US-ASCII)] Unsupported charset");
    return tagged(c, "BAD " + *err);
  }
  if (job->key.uses_modseq()) condstore_ = true;
  job->mailbox = view_->mailbox_id;
  job->uids = view_->uids;
  job->saved = saved_;
  job->req.data = job;
  std::string tag = c.tag, name = c.name;
  job->done = [this, alive = alive_, tag, name, want, extended](SearchJob& j) {
    if (!*alive) return;
    bool modseq = j.key.uses_modseq();
    if (want & kSave) saved_ = j.found_uids;  // RFC 5182: "$" from now on
    if (extended) {
      // SAVE alone says nothing of the result (RFC 5182 2.1).
      if (want != kSave) send(esearch(tag, j.by_uid, j.found, want, j.highest, modseq));
    } else {
      std::string out = "* SEARCH";
      for (uint32_t n : j.found) out += " " + std::to_string(n);
      if (modseq && !j.found.empty()) out += " (MODSEQ " + std::to_string(j.highest) + ")";
      send(out);
    }
    tagged(tag, name == "UID SEARCH" ? name : "SEARCH", "OK " + name + " completed");
    ready();
  };
  job->alive = alive_;
  busy();
  waiting.push_back(job);
  start_searches(conn_.worker().loop());
}

// A sequence set as a command gives it: "$" is the saved search result.
std::optional<std::vector<Range>> ImapSession::sequence_set(const std::string& text, bool by_uid) const {
  if (text != "$") return parse_sequence_set(text);
  std::vector<Range> out;
  for (uint32_t uid : saved_) {
    if (by_uid) {
      out.push_back({uid, uid});
      continue;
    }
    auto it = std::lower_bound(view_->uids.begin(), view_->uids.end(), uid);
    if (it != view_->uids.end() && *it == uid) {
      uint32_t seq = static_cast<uint32_t>(it - view_->uids.begin() + 1);
      out.push_back({seq, seq});
    }
  }
  return out;
}

}  // namespace gannet::imap
