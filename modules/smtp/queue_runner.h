// The delivery agent: each worker looks at the queue, takes due entries
// under a lease (one worker per message), resolves MX hosts with c-ares,
// delivers with SmtpClient, and records each recipient's fate: delivered,
// failed (a bounce goes to the sender), or retried later with back-off
// until smtp_queue_lifetime.
#pragma once

#include <uv.h>

#include <map>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "dns/resolver.h"
#include "smtp_client.h"
#include "smtp_module.h"
#include "store/store.h"

namespace gannet {
class Worker;
}

namespace gannet::smtp {

// The route for a domain's mail: its own smtp_route, else the relay host
// (the route "*"), whatever their order in the config (as Postfix's
// transport_maps win over relayhost); nullptr when neither, for its MX.
const SmtpMainConf::Route* find_route(const std::vector<SmtpMainConf::Route>& routes, std::string_view domain);

class QueueRunner {
 public:
  static std::unique_ptr<QueueRunner> create(Worker& w, const SmtpMainConf& conf, store::Store& store, std::string& err);
  ~QueueRunner();

 private:
  using Addresses = std::vector<sockaddr_storage>;
  using Routed = std::function<void(Addresses, ClientReply failure)>;

  QueueRunner(Worker& w, const SmtpMainConf& conf, store::Store& store);
  void scan();
  void claim(uint64_t id);
  void deliver(const store::QueueEntry& e, uint64_t deadline);
  // via: the domain's find_route(), looked up once by the caller.
  void route(const std::string& domain, const SmtpMainConf::Route* via, uint64_t deadline, Routed done);
  // implicit: hosts is the domain itself (no MX), which then fails for
  // good when it has no address either.
  void resolve_hosts(std::vector<dns::MxHost> hosts, uint16_t port, bool implicit, uint64_t deadline, Routed done);
  void record(uint64_t id, std::map<std::string, ClientReply> results);
  int64_t retry_delay(uint32_t attempts) const;

  Worker& worker_;
  const SmtpMainConf& conf_;
  store::Store& store_;
  dns::Resolver& resolver_;  // the worker's
  uv_timer_t* timer_;
  std::set<uint64_t> active_;  // entries this worker is delivering
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace gannet::smtp
