// SEARCH and UID SEARCH: run on the thread pool, a bounded number of
// messages per read transaction, since a body search reads whole messages
// and must not hold the loop or a snapshot of the store for long.
#include <uv.h>

#include "imap_search.h"
#include "imap_session.h"
#include "imap_view.h"
#include "store/store_module.h"
#include "worker.h"

namespace gannet::imap {

namespace {

constexpr size_t kPerTransaction = 500;

struct SearchJob {
  uv_work_t req;
  SearchKey key;
  uint32_t mailbox = 0;
  std::vector<uint32_t> uids;  // the view's, at the time of the command
  bool by_uid = false;
  std::vector<uint32_t> found;
  uint64_t highest = 0;  // of the matches' MODSEQs
  std::function<void(SearchJob&)> done;
};

void run_search(SearchJob& j) {
  uint32_t last_seq = static_cast<uint32_t>(j.uids.size()), last_uid = j.uids.empty() ? 0 : j.uids.back();
  bool body = j.key.needs_body();
  for (size_t from = 0; from < j.uids.size(); from += kPerTransaction) {
    worker_store()->read([&](store::Txn& t) {
      for (size_t i = from; i < std::min(j.uids.size(), from + kPerTransaction); i++) {
        auto m = t.message(j.mailbox, j.uids[i]);
        if (!m) continue;  // expunged meanwhile
        std::optional<std::string_view> raw;
        std::optional<mail::ParsedMessage> parsed;
        SearchMessage sm{*m, static_cast<uint32_t>(i + 1), last_seq, last_uid, {}, {}, {}};
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
        j.highest = std::max(j.highest, m->modseq);
      }
      return 0;
    });
  }
}

}  // namespace

void ImapSession::cmd_search(const Command& c) {
  auto* job = new SearchJob;
  job->by_uid = c.name == "UID SEARCH";
  if (auto err = parse_search(c.args, 0, job->key)) {
    delete job;
    if (*err == "charset") return tagged(c, "NO [BADCHARSET (UTF-8 US-ASCII)] Unsupported charset");
    return tagged(c, "BAD " + *err);
  }
  if (job->key.uses_modseq()) condstore_ = true;
  job->mailbox = view_->mailbox_id;
  job->uids = view_->uids;
  job->req.data = job;
  std::string tag = c.tag, name = c.name;
  job->done = [this, alive = alive_, tag, name](SearchJob& j) {
    if (!*alive) return;
    std::string out = "* SEARCH";
    for (uint32_t n : j.found) out += " " + std::to_string(n);
    if (j.key.uses_modseq() && !j.found.empty()) out += " (MODSEQ " + std::to_string(j.highest) + ")";
    send(out);
    tagged(tag, name == "UID SEARCH" ? name : "SEARCH", "OK " + name + " completed");
    ready();
  };
  busy();
  uv_queue_work(
      conn_.worker().loop(), &job->req, [](uv_work_t* r) { run_search(*static_cast<SearchJob*>(r->data)); },
      [](uv_work_t* r, int) {
        std::unique_ptr<SearchJob> j(static_cast<SearchJob*>(r->data));
        j->done(*j);
      });
}

}  // namespace gannet::imap
