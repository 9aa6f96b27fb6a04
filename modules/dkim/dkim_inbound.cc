// Checking the DKIM signatures of inbound mail at end of data: each
// signature's key record is asked of the worker's resolver (all at once,
// asynchronously), then the body hashes and the signatures are computed on
// the thread pool, and one Authentication-Results field (RFC 8601) says
// what came of each. The session waits meanwhile; other sessions do not.
#include <uv.h>

#include <ctime>
#include <map>
#include <memory>

#include "connection.h"
#include "core_module.h"
#include "cycle.h"
#include "dkim_module.h"
#include "dkim_tags.h"
#include "dkim_verify.h"
#include "dns/dns_module.h"
#include "mail/message_buffer.h"
#include "worker.h"

namespace gannet::dkim {

namespace {

struct Check {
  std::string field;                            // the DKIM-Signature field as received
  std::variant<Signature, std::string> parsed;  // or why it cannot be checked
  std::optional<KeyRecord> key;
  Outcome outcome;
};

struct VerifyJob {
  uv_work_t req;
  PhaseRun* run;
  bool cancelled = false;
  std::shared_ptr<const mail::MessageBuffer> message;
  std::string head;  // the header block
  size_t body_at;
  std::vector<Check> checks;
  int lookups = 0;
  std::string authserv_id;
};

// What a key lookup's answer means for the check (RFC 6376 6.1.2).
void take_key(Check& c, dns::Resolver::Result r, const std::vector<std::string>& records) {
  using R = dns::Resolver::Result;
  if (r == R::temporary) c.outcome = {Result::temperror, "key lookup failed"};
  else if (r != R::ok) c.outcome = {Result::permerror, "no key for signature"};
  else if (records.size() != 1) c.outcome = {Result::permerror, "not one key record"};
  else if (auto k = parse_key_record(records[0]); std::holds_alternative<std::string>(k))
    c.outcome = {Result::permerror, std::get<std::string>(k)};
  else c.key = std::get<KeyRecord>(k);
}

// On the pool: one body hash for each canonicalization and l= in use.
void verify_work(uv_work_t* req) {
  VerifyJob* job = static_cast<std::shared_ptr<VerifyJob>*>(req->data)->get();
  const mail::MessageBuffer& m = *job->message;
  auto fields = split_header(job->head);
  std::map<std::pair<Canon, uint64_t>, std::string> hashes;  // l= absent: UINT64_MAX
  int64_t now = time(nullptr);
  for (auto& c : job->checks) {
    if (!c.key) continue;
    auto& sig = std::get<Signature>(c.parsed);
    auto id = std::make_pair(sig.body_canon, sig.length.value_or(UINT64_MAX));
    if (!hashes.count(id)) {
      auto d = hash_body(m, job->body_at, sig.body_canon, sig.length);
      hashes[id] = d ? std::string(reinterpret_cast<const char*>(d->data()), d->size()) : std::string();
    }
    std::string_view raw = c.field;
    HeaderField field{raw.substr(0, raw.find(':')), raw};
    c.outcome = verify(fields, field, sig, *c.key, hashes[id], now);
  }
}

// dkim=RESULT [reason="..."] header.d= header.s= header.a= header.b=, one a line.
std::string results_field(const VerifyJob& job) {
  std::string v = job.authserv_id;
  if (job.checks.empty()) return v + "; dkim=none";
  for (auto& c : job.checks) {
    v += ";\r\n\tdkim=" + std::string(result_name(c.outcome.result));
    if (!c.outcome.reason.empty()) v += " reason=\"" + c.outcome.reason + "\"";
    if (auto* s = std::get_if<Signature>(&c.parsed))
      v += " header.d=" + s->domain + " header.s=" + s->selector + " header.a=" +
           (s->algorithm == Algorithm::ed25519_sha256 ? "ed25519-sha256" : "rsa-sha256") + " header.b=" +
           s->b_text.substr(0, 8);
  }
  return v;
}

void verify_done(uv_work_t* req, int) {
  std::unique_ptr<std::shared_ptr<VerifyJob>> held(static_cast<std::shared_ptr<VerifyJob>*>(req->data));
  VerifyJob& job = **held;
  if (job.cancelled) return;
  job.run->add_header("Authentication-Results", results_field(job));
  job.run->resume(FilterStatus::next);
}

// Every key has come (or failed): the digests and signatures go to the pool.
void lookups_done(const std::shared_ptr<VerifyJob>& job) {
  if (job->cancelled) return;
  job->req.data = new std::shared_ptr<VerifyJob>(job);  // held until verify_done
  uv_queue_work(job->run->conn.worker().loop(), &job->req, verify_work, verify_done);
}

}  // namespace

FilterStatus verify_message(PhaseRun& run) {
  std::string start = run.message->start();
  auto end = header_end(start);
  if (!end) return FilterStatus::next;
  auto job = std::make_shared<VerifyJob>();
  job->run = &run;
  job->message = run.message;
  job->body_at = *end;
  job->head = start.substr(0, *end);
  job->authserv_id = *run.server.conf<MailSrvConf>(mail_module).server_name;
  int64_t limit = *run.server.conf<DkimSrvConf>(dkim_module).max_signatures;
  for (auto& f : split_header(job->head)) {
    if (f.name.size() != 14 || strncasecmp(f.name.data(), "dkim-signature", 14) != 0) continue;
    if (static_cast<int64_t>(job->checks.size()) == limit) break;  // the rest are not checked
    Check c{std::string(f.raw), parse_signature(f.raw.substr(15)), std::nullopt, {}};
    if (auto* why = std::get_if<std::string>(&c.parsed)) c.outcome = {Result::permerror, *why};
    job->checks.push_back(std::move(c));
  }
  run.on_cancel = [job] { job->cancelled = true; };
  for (size_t i = 0; i < job->checks.size(); i++) {
    auto* sig = std::get_if<Signature>(&job->checks[i].parsed);
    if (!sig) continue;
    job->lookups++;
    worker_resolver().txt(sig->selector + "._domainkey." + sig->domain,
                          [job, i](dns::Resolver::Result r, std::vector<std::string> records) {
                            take_key(job->checks[i], r, records);
                            if (--job->lookups == 0) lookups_done(job);
                          });
  }
  if (job->lookups == 0) lookups_done(job);
  return FilterStatus::wait;
}

}  // namespace gannet::dkim
