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

#include "resolver.h"
#include "smtp_client.h"
#include "smtp_module.h"
#include "store/store.h"

namespace gannet {
class Worker;
}

namespace gannet::smtp {

class QueueRunner {
 public:
  static std::unique_ptr<QueueRunner> create(Worker& w, const SmtpMainConf& conf, store::Store& store, std::string& err);
  ~QueueRunner();

 private:
  using Addresses = std::vector<sockaddr_storage>;
  using Routed = std::function<void(Addresses, ClientReply failure)>;

  QueueRunner(Worker& w, const SmtpMainConf& conf, store::Store& store, std::unique_ptr<Resolver> r);
  void scan();
  void claim(uint64_t id);
  void deliver(const store::QueueEntry& e);
  void route(const std::string& domain, Routed done);
  void resolve_hosts(std::vector<MxHost> hosts, uint16_t port, Routed done);
  void record(uint64_t id, std::map<std::string, ClientReply> results);
  int64_t retry_delay(uint32_t attempts) const;

  Worker& worker_;
  const SmtpMainConf& conf_;
  store::Store& store_;
  std::unique_ptr<Resolver> resolver_;
  uv_timer_t* timer_;
  std::set<uint64_t> active_;  // entries this worker is delivering
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace gannet::smtp
