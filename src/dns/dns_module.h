// The core's DNS: one asynchronous resolver a worker (c-ares on the
// worker's loop), shared by every module that looks names up: the
// delivery agent's MX and addresses, the mail authentication filter's TXT
// records. `resolver` names the servers; without it, /etc/resolv.conf.
#pragma once

#include "dns/resolver.h"
#include "module.h"

namespace gannet {

struct DnsConf : ModuleConf {
  std::optional<std::string> servers;  // c-ares' "host:port,...", "" = resolv.conf
};

extern Module dns_module;

// This worker's resolver; made when the worker starts.
dns::Resolver& worker_resolver();

}  // namespace gannet
