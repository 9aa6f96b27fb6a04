#include "queue_runner.h"

#include <algorithm>
#include <ctime>

#include "bounce.h"
#include "dns/dns_module.h"
#include "log.h"
#include "smtp_parse.h"
#include "worker.h"

namespace gannet::smtp {

namespace {

constexpr int64_t kLeaseSeconds = 600;       // a dead worker's entries come back after this
constexpr int64_t kMaxRetrySeconds = 4 * 3600;
// An attempt must be over before its lease is: after that another worker
// may take the entry and deliver it a second time. The client allows 5
// minutes of silence per step and tries address after address, so nothing
// but a deadline bounds it. An attempt gets kAttemptSeconds from its claim:
// past it no new address is tried, no new host looked up, and the step
// under way is cut short; what is not delivered by then is deferred
// (4xx) and retried later. A deadline rather than renewing the lease: a
// worker that hangs or loops must still lose its entries after the lease,
// and one bound is simpler to reason about than a renewal that races the
// store's writer queue. The margin covers a DNS query already in flight
// (c-ares: 3 tries, up to 21 s) and the write that records the attempt.
constexpr int64_t kAttemptSeconds = kLeaseSeconds - 120;
static_assert(kAttemptSeconds > 300, "one slow step (the client's 5 minutes) must fit in an attempt");

std::string domain_of(const std::string& address) { return address.substr(address.rfind('@') + 1); }

// What the sender asked of DSN goes on to a server that offers it (RFC
// 3461 5.2), which then owns the notices.
std::string mail_dsn_params(const store::QueueEntry& e) {
  std::string p;
  if (e.ret != store::QueueEntry::ret_unset) p += e.ret == store::QueueEntry::ret_hdrs ? " RET=HDRS" : " RET=FULL";
  if (!e.envid.empty()) p += " ENVID=" + e.envid;
  return p;
}

// ORCPT with raw UTF-8 (RFC 6533) would need SMTPUTF8 on the way: such a
// one is not passed on.
std::string rcpt_dsn_params(const store::QueueRecipient& r) {
  std::string p;
  if (r.notify) p += " NOTIFY=" + store::notify_text(r.notify);
  if (!r.orcpt.empty() && !has_8bit(r.orcpt)) p += " ORCPT=" + r.orcpt;
  return p;
}

// Recipients of one domain, with their DSN parameters.
struct DomainRcpts {
  std::vector<std::string> addresses;
  std::vector<std::string> dsn;
};

}  // namespace

const SmtpMainConf::Route* find_route(const std::vector<SmtpMainConf::Route>& routes, std::string_view domain) {
  const SmtpMainConf::Route* any = nullptr;
  for (auto& r : routes) {
    if (r.domain == domain) return &r;
    if (r.domain == "*") any = &r;
  }
  return any;
}

std::unique_ptr<QueueRunner> QueueRunner::create(Worker& w, const SmtpMainConf& conf, store::Store& store, std::string& err) {
  return std::unique_ptr<QueueRunner>(new QueueRunner(w, conf, store));
}

QueueRunner::QueueRunner(Worker& w, const SmtpMainConf& conf, store::Store& store)
    : worker_(w), conf_(conf), store_(store), resolver_(worker_resolver()) {
  timer_ = new uv_timer_t;
  uv_timer_init(w.loop(), timer_);
  timer_->data = this;
  uv_timer_start(timer_, [](uv_timer_t* t) { static_cast<QueueRunner*>(t->data)->scan(); }, *conf.queue_interval,
                 *conf.queue_interval);
  uv_unref(reinterpret_cast<uv_handle_t*>(timer_));  // never what keeps a draining worker alive
}

QueueRunner::~QueueRunner() {
  *alive_ = false;
  uv_close(reinterpret_cast<uv_handle_t*>(timer_), [](uv_handle_t* h) { delete reinterpret_cast<uv_timer_t*>(h); });
}

int64_t QueueRunner::retry_delay(uint32_t attempts) const {
  int64_t base = static_cast<int64_t>(*conf_.queue_retry / 1000);
  if (base < 1) base = 1;
  int64_t d = base << std::min<uint32_t>(attempts > 0 ? attempts - 1 : 0, 20);
  return std::min(d, kMaxRetrySeconds);
}

void QueueRunner::scan() {
  if (worker_.draining()) return;
  size_t room = static_cast<size_t>(*conf_.delivery_concurrency) - std::min(active_.size(), size_t(*conf_.delivery_concurrency));
  if (room == 0) return;
  int64_t now = time(nullptr);
  auto due = store_.read([&](store::Txn& t) { return t.queue_due(now, room + active_.size()); });
  for (auto& e : due)
    if (!active_.count(e.id) && active_.size() < static_cast<size_t>(*conf_.delivery_concurrency)) claim(e.id);
}

// Takes the lease in a write transaction: LMDB has one writer at a time
// across all workers, so exactly one of them gets it.
void QueueRunner::claim(uint64_t id) {
  active_.insert(id);
  auto entry = std::make_shared<store::QueueEntry>();
  int64_t now = time(nullptr);
  uv_update_time(worker_.loop());
  uint64_t deadline = uv_now(worker_.loop()) + kAttemptSeconds * 1000;  // taken before the lease is written
  store_.write(
      worker_.loop(),
      [id, now, entry](store::Txn& t) {
        auto e = t.queue_entry(id);
        if (!e || e->held || e->lease_until > now || e->next_attempt > now) return store::Status::exists;
        e->lease_until = now + kLeaseSeconds;
        *entry = *e;
        return t.queue_save(*e);
      },
      [this, alive = alive_, id, entry, deadline](store::Status s) {
        if (!*alive) return;
        if (s == store::Status::ok) deliver(*entry, deadline);
        else active_.erase(id);
      });
}

void QueueRunner::deliver(const store::QueueEntry& e, uint64_t deadline) {
  auto message = store_.read([&](store::Txn& t) {
    auto b = t.body(e.body_id);
    return b ? std::make_shared<const std::string>(*b) : nullptr;
  });
  std::map<std::string, DomainRcpts> by_domain;
  for (auto& r : e.recipients)
    if (r.state == store::QueueRecipient::pending) {
      auto& d = by_domain[domain_of(r.address)];
      d.addresses.push_back(r.address);
      d.dsn.push_back(rcpt_dsn_params(r));
    }
  struct Attempt {
    size_t left;
    std::map<std::string, ClientReply> results;
  };
  auto attempt = std::make_shared<Attempt>(Attempt{by_domain.size(), {}});
  uint64_t id = e.id;
  auto one_done = [this, alive = alive_, attempt, id] {
    if (!*alive || --attempt->left > 0) return;
    record(id, std::move(attempt->results));
  };
  if (!message || by_domain.empty()) {
    attempt->left = 1;
    return one_done();
  }
  std::string dsn_mail = mail_dsn_params(e);
  for (auto& [domain, d] : by_domain) {
    auto* via = find_route(conf_.routes, domain);
    auto* relay = via && via->domain == "*" ? via : nullptr;  // its login and certificate check apply
    route(domain, via, deadline, [this, alive = alive_, attempt, rcpts = d.addresses, dsn = d.dsn, dsn_mail, message,
                                  sender = e.sender, smtputf8 = e.smtputf8, deadline, one_done,
                                  relay](Addresses addrs, ClientReply failure) {
      if (!*alive) return;
      if (addrs.empty()) {
        for (auto& r : rcpts) attempt->results[r] = failure;
        return one_done();
      }
      ClientJob job{std::move(addrs), *conf_.helo_name, sender, rcpts, message, dsn_mail, dsn, smtputf8, deadline,
                    {}, {}, {}, {}, false};
      if (relay) {
        job.auth_user = conf_.relay_auth_user.value_or("");
        job.auth_password = conf_.relay_auth_password.value_or("");
        job.tls_verify = conf_.relay_tls;
        job.tls_name = relay->host;
        job.implicit_tls = relay->ssl;
      }
      SmtpClient::start(worker_.loop(), std::move(job), [attempt, rcpts, one_done](std::vector<ClientReply> replies) {
        for (size_t i = 0; i < rcpts.size(); i++) attempt->results[rcpts[i]] = replies[i];
        one_done();
      });
    });
  }
}

// Where a domain's mail goes: a configured route, else its MX hosts (the
// domain itself when it has none, RFC 5321 5.1), never past a null MX
// (RFC 7505). A domain that does not exist, or that has neither MX nor
// address, fails at once (5.1.2, as Postfix does); only a failed lookup
// (SERVFAIL, time-out) is worth a retry.
void QueueRunner::route(const std::string& domain, const SmtpMainConf::Route* via, uint64_t deadline, Routed done) {
  if (via) return resolve_hosts({{via->host, 0}}, via->port, false, deadline, std::move(done));
  uint16_t port = static_cast<uint16_t>(*conf_.delivery_port);
  resolver_.mx(domain, [this, alive = alive_, domain, port, deadline, done = std::move(done)](dns::Resolver::Result res,
                                                                                              std::vector<dns::MxHost> hosts) {
    if (!*alive) return;
    switch (res) {
      case dns::Resolver::Result::ok:
        if (hosts.size() == 1 && (hosts[0].host.empty() || hosts[0].host == "."))
          return done({}, {556, "556 5.1.10 " + domain + " does not accept mail (null MX)"});
        return resolve_hosts(std::move(hosts), port, false, deadline, done);
      case dns::Resolver::Result::no_data: return resolve_hosts({{domain, 0}}, port, true, deadline, done);
      case dns::Resolver::Result::no_such_domain: return done({}, {550, "550 5.1.2 " + domain + ": Host or domain name not found"});
      case dns::Resolver::Result::temporary: return done({}, {451, "451 4.4.3 " + domain + ": DNS lookup failed, will retry"});
    }
  });
}

// Resolves every host in order and hands over all their addresses. Past
// the deadline no further host is looked up.
void QueueRunner::resolve_hosts(std::vector<dns::MxHost> hosts, uint16_t port, bool implicit, uint64_t deadline, Routed done) {
  struct Walk {
    std::vector<dns::MxHost> hosts;
    size_t next = 0;
    Addresses found;
    bool temporary = false;  // a lookup failed, rather than finding nothing
    Routed done;
    std::function<void()> step;
  };
  auto walk = std::make_shared<Walk>(Walk{std::move(hosts), 0, {}, false, std::move(done), {}});
  walk->step = [this, alive = alive_, w = std::weak_ptr<Walk>(walk), port, implicit, deadline] {
    auto walk = w.lock();
    if (!walk || !*alive) return;
    bool late = uv_now(worker_.loop()) >= deadline;
    if (walk->next == walk->hosts.size() || late) {
      auto d = std::move(walk->done);
      auto found = std::move(walk->found);
      walk->step = nullptr;  // breaks the cycle
      if (late && found.empty()) return d({}, {451, "451 4.4.3 attempt time limit reached while looking up hosts"});
      if (implicit && !walk->temporary)
        return d(std::move(found), {550, "550 5.1.2 " + walk->hosts[0].host + ": Host or domain name not found"});
      return d(std::move(found), {451, "451 4.4.4 no address for any mail host, will retry"});
    }
    const std::string& host = walk->hosts[walk->next++].host;
    resolver_.addresses(host, port, [walk](dns::Resolver::Result res, std::vector<sockaddr_storage> addrs) {
      walk->temporary |= res == dns::Resolver::Result::temporary;
      walk->found.insert(walk->found.end(), addrs.begin(), addrs.end());
      if (walk->step) walk->step();
    });
  };
  walk->step();
}

void QueueRunner::record(uint64_t id, std::map<std::string, ClientReply> results) {
  int64_t now = time(nullptr);
  int64_t lifetime = static_cast<int64_t>(*conf_.queue_lifetime / 1000);
  std::string helo = *conf_.helo_name;
  auto outcome = std::make_shared<std::string>();
  store_.write(
      worker_.loop(),
      [=, this](store::Txn& t) {
        auto e = t.queue_entry(id);
        if (!e) return store::Status::ok;  // deleted by an admin meanwhile
        std::vector<DsnRecipient> report;  // what the sender asked to hear of
        size_t pending = 0, delivered = 0, failed = 0;
        bool expired = now - e->created >= lifetime;
        e->attempts++;
        for (auto& r : e->recipients) {
          if (r.state != store::QueueRecipient::pending) continue;
          auto it = results.find(r.address);
          ClientReply reply = it == results.end() ? ClientReply{451, "451 4.3.0 not attempted"} : it->second;
          std::string text = reply.text.empty() ? "no answer" : reply.text;
          if (reply.ok()) {
            r.state = store::QueueRecipient::delivered;
            r.last_error.clear();
            delivered++;
            // A server without DSN cannot report the success: we do ("relayed").
            if (wants_success(r.notify) && !reply.dsn) report.push_back({r.address, r.orcpt, "relayed", text});
          } else if (reply.permanent() || expired) {
            r.state = store::QueueRecipient::failed;
            r.last_error = reply.permanent() ? text : "4.4.7 message expired in the queue; last error: " + text;
            failed++;
            if (wants_failure(r.notify)) report.push_back({r.address, r.orcpt, "failed", r.last_error});
          } else {
            r.last_error = text;
            e->last_error = text;
            pending++;
          }
        }
        // Still waiting past smtp_delay_warning_time: the sender hears so, once.
        int64_t warn_after = static_cast<int64_t>(*conf_.delay_warning_time / 1000);
        if (pending && warn_after > 0 && !e->delay_warned && now - e->created >= warn_after) {
          e->delay_warned = true;
          for (auto& r : e->recipients)
            if (r.state == store::QueueRecipient::pending && wants_delay(r.notify))
              report.push_back({r.address, r.orcpt, "delayed", r.last_error, e->created + lifetime});
        }
        *outcome = "delivered=" + std::to_string(delivered) + " failed=" + std::to_string(failed) +
                   " deferred=" + std::to_string(pending) + " dsn=" + std::to_string(e->sender.empty() ? 0 : report.size());
        if (!report.empty() && !e->sender.empty()) {
          auto original = t.body(e->body_id);
          DsnReport d{helo, e->sender, std::to_string(id), e->envid, e->ret, e->created, std::move(report)};
          if (auto s = send_dsn(t, e->sender, make_dsn(d, original ? *original : "", now), now); s != store::Status::ok) return s;
        }
        if (pending == 0) return t.queue_delete(id);
        e->lease_until = 0;
        e->next_attempt = now + retry_delay(e->attempts);
        return t.queue_save(*e);
      },
      [this, alive = alive_, id, outcome](store::Status s) {
        if (!*alive) return;
        active_.erase(id);
        if (s != store::Status::ok) GLOG(Level::error, "queue %llu: could not record the attempt: %s", (unsigned long long)id, store::status_text(s));
        else GLOG(Level::info, "queue %llu: %s", (unsigned long long)id, outcome->c_str());
      });
}

}  // namespace gannet::smtp
