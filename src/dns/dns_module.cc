#include "dns/dns_module.h"

#include "worker.h"

namespace gannet {

namespace {

std::unique_ptr<dns::Resolver> g_resolver;

// Checked here, not when a worker starts: a list c-ares refuses would
// stop every worker, after `gannet -t` or a reload had taken it.
void set_servers(ConfParser& p, const Stmt& s, ModuleConf* c) {
  if (auto bad = dns::bad_server_entry(s.args()[0]))
    p.fail(s, "invalid value \"" + s.args()[0] + "\" in \"" + s.name() + "\" directive: \"" + *bad +
                  "\" is not IP, IP:port, IPv6 or [IPv6]:port");
  set_str<&DnsConf::servers>(p, s, c);
}

const Directive directives[] = {
    {"resolver", CTX_MAIN | TAKE1, Slot::main, set_servers},
};

std::unique_ptr<ModuleConf> create_conf() { return std::make_unique<DnsConf>(); }

std::string init_conf(Cycle&, ModuleConf& c) {
  merge(static_cast<DnsConf&>(c).servers, {}, "");
  return {};
}

std::string init_worker(Worker& w) {
  std::string err;
  g_resolver = std::make_unique<dns::Resolver>(w.loop(), *w.cycle().main_conf<DnsConf>(dns_module).servers, err);
  return err;
}

void exit_worker(Worker&) { g_resolver.reset(); }

}  // namespace

dns::Resolver& worker_resolver() { return *g_resolver; }

Module dns_module{.name = "dns", .directives = directives, .create_main_conf = create_conf,
                  .init_main_conf = init_conf, .init_worker = init_worker, .exit_worker = exit_worker};

}  // namespace gannet
