// The mail authentication filter (issue 18), first part: DKIM signing.
// Mail from an authenticated submission whose From domain Gannet hosts and
// has keys for is signed at the end of data, with every key of that domain
// (an RSA and an Ed25519 signature together when both exist). The digest
// and the signatures are made on the thread pool; the session waits.
#include <openssl/rsa.h>
#include <uv.h>

#include <ctime>
#include <filesystem>
#include <map>

#include "connection.h"
#include "cycle.h"
#include "dkim_canon.h"
#include "dkim_keys.h"
#include "dkim_module.h"
#include "dkim_sign.h"
#include "mail/message_buffer.h"
#include "module.h"
#include "store/store_module.h"
#include "store/txn.h"
#include "worker.h"

namespace gannet {

namespace {

using dkim::Canon;

struct Key {
  std::string selector;
  std::shared_ptr<EVP_PKEY> pkey;
};

struct DkimMainConf : ModuleConf {
  std::map<std::string, std::vector<Key>> keys;  // by domain
};


// Signed, and From, To and Subject once more than present (oversigned).
const std::vector<std::string> kSign = {
    "from", "sender", "reply-to", "subject", "date", "message-id", "to", "cc", "in-reply-to", "references",
    "mime-version", "content-type", "content-transfer-encoding", "content-disposition", "list-id",
    "list-unsubscribe", "list-unsubscribe-post"};
const std::vector<std::string> kOversign = {"from", "to", "subject"};

// A key fit to sign with, or why not.
std::string check_key(const EVP_PKEY* k) {
  if (EVP_PKEY_id(k) == EVP_PKEY_ED25519) return {};
  if (EVP_PKEY_id(k) == EVP_PKEY_RSA && EVP_PKEY_bits(k) >= 2048) return {};
  if (EVP_PKEY_id(k) == EVP_PKEY_RSA) return "an RSA key of " + std::to_string(EVP_PKEY_bits(k)) + " bits (2048 or more signs)";
  return "neither an RSA nor an Ed25519 key";
}

std::shared_ptr<EVP_PKEY> load(const std::string& path, std::string& err) {
  bssl::UniquePtr<EVP_PKEY> k = dkim_load_key(path, err);
  if (!k) return nullptr;
  if (std::string why = check_key(k.get()); !why.empty()) {
    err = "\"" + path + "\" is " + why;
    return nullptr;
  }
  return std::shared_ptr<EVP_PKEY>(k.release(), EVP_PKEY_free);
}

// dkim_key DOMAIN SELECTOR PATH
void set_key(ConfParser& p, const Stmt& s, ModuleConf* c) {
  auto& m = *static_cast<DkimMainConf*>(c);
  const std::string &domain = s.args()[0], &selector = s.args()[1];
  if (!dkim_valid_name(domain)) p.fail(s, "\"" + domain + "\" is not a lower-case domain name");
  if (!dkim_valid_name(selector)) p.fail(s, "\"" + selector + "\" is not a valid selector");
  for (auto& k : m.keys[domain])
    if (k.selector == selector) p.fail(s, "a key for " + domain + " selector " + selector + " is given twice");
  std::string err;
  auto key = load(p.resolve(s.args()[2]), err);
  if (!key) p.fail(s, err);
  m.keys[domain].push_back({selector, key});
}

void set_canon(ConfParser& p, const Stmt& s, ModuleConf* c) {
  auto canon = dkim::parse_canon(s.args()[0]);
  if (!canon) p.invalid_value(s, s.args()[0]);
  static_cast<DkimSrvConf*>(c)->canon = canon;
}

const Directive directives[] = {
    {"dkim_sign", CTX_MAIL | CTX_SERVER | TAKE1, Slot::srv, set_flag<&DkimSrvConf::sign>},
    {"dkim_key", CTX_MAIN | CTX_MAIL | TAKE3, Slot::main, set_key},
    {"dkim_canonicalization", CTX_MAIL | CTX_SERVER | TAKE1, Slot::srv, set_canon},
    {"dkim_signature_expire", CTX_MAIL | CTX_SERVER | TAKE1, Slot::srv, set_msec<&DkimSrvConf::expire>},
    {"dkim_verify", CTX_MAIL | CTX_SERVER | TAKE1, Slot::srv, set_flag<&DkimSrvConf::verify>},
    {"dkim_max_signatures", CTX_MAIL | CTX_SERVER | TAKE1, Slot::srv, set_number<&DkimSrvConf::max_signatures, 1, 100>},
};

// With no dkim_key, the keys `gannetctl dkim keygen` made: every
// <prefix>/dkim/DOMAIN/SELECTOR.key.
std::string init_main(Cycle& cycle, ModuleConf& c) {
  auto& m = static_cast<DkimMainConf&>(c);
  if (!m.keys.empty()) return {};
  std::error_code ec;
  for (auto& dir : std::filesystem::directory_iterator(cycle.prefix + "/dkim", ec)) {
    std::string domain = dir.path().filename().string();
    if (!dkim_valid_name(domain)) continue;
    for (auto& selector : dkim_selectors(cycle, domain)) {
      std::string err;
      auto key = load(dkim_key_path(cycle, domain, selector), err);
      if (!key) return "dkim: " + err;
      m.keys[domain].push_back({selector, key});
    }
  }
  return {};
}

std::unique_ptr<ModuleConf> create_main() { return std::make_unique<DkimMainConf>(); }
std::unique_ptr<ModuleConf> create_srv() { return std::make_unique<DkimSrvConf>(); }

std::string merge_srv(const ModuleConf& parent, ModuleConf& child) {
  auto& p = static_cast<const DkimSrvConf&>(parent);
  auto& c = static_cast<DkimSrvConf&>(child);
  merge(c.sign, p.sign, false);
  merge(c.canon, p.canon, std::make_pair(Canon::relaxed, Canon::relaxed));
  merge(c.expire, p.expire, 0);
  merge(c.verify, p.verify, false);
  merge(c.max_signatures, p.max_signatures, 5);
  return {};
}

// An address's domain, lower-case: after the last '@' of what stands
// between < and >, or of the whole if no angle brackets.
std::string domain_of(std::string_view mailbox) {
  size_t open = mailbox.rfind('<');
  if (open != std::string_view::npos) mailbox = mailbox.substr(open + 1, mailbox.find('>', open) - open - 1);
  size_t at = mailbox.rfind('@');
  if (at == std::string_view::npos) return {};
  std::string domain;
  for (char ch : mailbox.substr(at + 1))
    if (ch != ' ' && ch != '\t' && ch != '\r' && ch != '\n') domain += static_cast<char>(tolower(static_cast<unsigned char>(ch)));
  return dkim_valid_name(domain) ? domain : "";
}

// The domain of the From field's authors (RFC 5322 3.6.2: one field, one
// or more mailboxes, split at the commas outside quotes, comments and
// angle brackets); "" unless there is one field and one domain for all.
std::string from_domain(const std::vector<dkim::HeaderField>& fields) {
  std::string_view value;
  int froms = 0;
  for (auto& f : fields)
    if (f.name.size() == 4 && strncasecmp(f.name.data(), "from", 4) == 0) value = f.raw.substr(f.raw.find(':') + 1), froms++;
  if (froms != 1) return {};
  std::string domain;
  bool quoted = false;
  int comment = 0, angle = 0;
  size_t start = 0;
  for (size_t i = 0; i <= value.size(); i++) {
    char ch = i < value.size() ? value[i] : ',';
    if (quoted) {
      if (ch == '\\') i++;
      else if (ch == '"') quoted = false;
      continue;
    }
    if (ch == '"') quoted = true;
    else if (ch == '(') comment++;
    else if (ch == ')' && comment > 0) comment--;
    else if (ch == '<' && !comment) angle++;
    else if (ch == '>' && angle > 0 && !comment) angle--;
    else if (ch == ',' && !comment && !angle) {
      std::string d = domain_of(value.substr(start, i - start));
      if (d.empty() || (!domain.empty() && d != domain)) return {};
      domain = d;
      start = i + 1;
    }
  }
  return domain;
}

// One message's signing, on the thread pool.
struct SignJob {
  uv_work_t req;
  PhaseRun* run;
  bool cancelled = false;
  std::shared_ptr<const mail::MessageBuffer> message;
  size_t body_at;
  std::vector<dkim::SignParams> params;
  std::vector<std::string> signatures;  // the results, in order
};

void sign_work(uv_work_t* req) {
  auto* job = static_cast<SignJob*>(req->data);
  const mail::MessageBuffer& m = *job->message;
  std::string head(job->body_at, '\0');  // the header block, CRLF of its last field included
  if (!m.read(0, job->body_at, head.data())) return;
  auto fields = dkim::split_header(head);
  // One digest a body canonicalization the keys use.
  std::map<Canon, dkim::Digest> hashes;
  for (auto& p : job->params) {
    if (hashes.count(p.body)) continue;
    auto digest = dkim::hash_body(m, job->body_at, p.body, std::nullopt);
    if (!digest) return;
    hashes[p.body] = *digest;
  }
  for (auto& p : job->params) {
    p.names = dkim::names_to_sign(fields, kSign, kOversign);
    job->signatures.push_back(dkim::signature(p, fields, hashes[p.body]));
  }
}

void sign_done(uv_work_t* req, int) {
  std::unique_ptr<SignJob> job(static_cast<SignJob*>(req->data));
  if (job->cancelled) return;  // the session went meanwhile
  for (auto& sig : job->signatures)
    if (!sig.empty()) job->run->add_header("DKIM-Signature", sig);
  job->run->resume(FilterStatus::next);
}

// Ed25519 over a small message costs tens of microseconds: done on the
// loop, as a small message's MIME parse is. RSA (half a millisecond a
// signature) and big bodies go to the pool.
constexpr size_t kInlineMax = 64 << 10;

bool inline_ok(const SignJob& job) {
  if (job.message->size() > kInlineMax) return false;
  for (auto& p : job.params)
    if (EVP_PKEY_id(p.key) != EVP_PKEY_ED25519) return false;
  return true;
}

FilterStatus sign_message(PhaseRun& run) {
  auto& sc = run.server.conf<DkimSrvConf>(dkim_module);
  std::string start = run.message->start();
  auto end = dkim::header_end(start);
  if (!end) return FilterStatus::next;
  std::string domain = from_domain(dkim::split_header(std::string_view(start).substr(0, *end)));
  auto& main = run.conn.worker().cycle().main_conf<DkimMainConf>(dkim_module);
  auto keys = main.keys.find(domain);
  if (keys == main.keys.end()) return FilterStatus::next;
  bool hosted = worker_store()->read([&](store::Txn& t) { return t.has_domain(domain); });
  if (!hosted) return FilterStatus::next;
  auto job = std::make_unique<SignJob>();
  job->run = &run;
  job->message = run.message;
  job->body_at = *end;
  for (auto& k : keys->second) {
    dkim::SignParams p;
    p.domain = domain;
    p.selector = k.selector;
    p.key = k.pkey.get();
    p.header = sc.canon->first;
    p.body = sc.canon->second;
    p.now = time(nullptr);
    if (*sc.expire) p.expire = static_cast<int64_t>(*sc.expire / 1000);
    job->params.push_back(std::move(p));
  }
  job->req.data = job.get();
  if (inline_ok(*job)) {  // cheaper than the pool's round trip, and as short as a parse
    sign_work(&job->req);
    for (auto& sig : job->signatures)
      if (!sig.empty()) run.add_header("DKIM-Signature", sig);
    return FilterStatus::next;
  }
  SignJob* j = job.release();
  uv_queue_work(run.conn.worker().loop(), &j->req, sign_work, sign_done);
  run.on_cancel = [j] { j->cancelled = true; };
  return FilterStatus::wait;
}

// Mail from users is signed; mail from elsewhere is checked.
FilterStatus on_message(PhaseRun& run) {
  auto& sc = run.server.conf<DkimSrvConf>(dkim_module);
  if (!run.envelope.user.empty()) return *sc.sign ? sign_message(run) : FilterStatus::next;
  return *sc.verify ? dkim::verify_message(run) : FilterStatus::next;
}

const PhaseHooks hooks = [] {
  PhaseHooks h{};
  h[static_cast<size_t>(Phase::message)] = on_message;
  return h;
}();

}  // namespace

Module dkim_module{.name = "dkim", .directives = directives, .create_main_conf = create_main,
                   .init_main_conf = init_main, .create_srv_conf = create_srv, .merge_srv_conf = merge_srv,
                   .hooks = &hooks};

}  // namespace gannet
