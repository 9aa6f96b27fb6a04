// Directives of the main, events and mail/server contexts.
#include "core_module.h"

#include "dns/dns_module.h"

#include <dlfcn.h>
#include <grp.h>
#include <pwd.h>
#include <unistd.h>

#include "auth/login.h"
#include "listen_addr.h"
#include "store/store_module.h"

namespace gannet {

namespace {

// --- main context ---

void set_worker_processes(ConfParser& p, const Stmt& s, ModuleConf* c) {
  auto& f = static_cast<CoreConf*>(c)->worker_processes;
  if (f) p.fail(s, "\"worker_processes\" directive is duplicate");
  if (s.args()[0] == "auto") { f = 0; return; }
  auto n = parse_number(s.args()[0]);
  if (!n || *n < 1 || *n > 1024) p.invalid_value(s, s.args()[0]);
  f = *n;
}

bool take_account(CoreConf& cf, const std::string& name) {
  const passwd* pw = getpwnam(name.c_str());
  if (!pw) return false;
  cf.user = name;
  cf.uid = static_cast<int>(pw->pw_uid);
  cf.gid = static_cast<int>(pw->pw_gid);
  return true;
}

void set_user(ConfParser& p, const Stmt& s, ModuleConf* c) {
  auto* cf = static_cast<CoreConf*>(c);
  if (cf->user) p.fail(s, "\"user\" directive is duplicate");
  if (!take_account(*cf, s.args()[0])) p.fail(s, "getpwnam(\"" + s.args()[0] + "\") failed");
  if (s.args().size() == 2) {
    const group* gr = getgrnam(s.args()[1].c_str());
    if (!gr) p.fail(s, "getgrnam(\"" + s.args()[1] + "\") failed");
    cf->gid = static_cast<int>(gr->gr_gid);
  }
}

void set_error_log(ConfParser& p, const Stmt& s, ModuleConf* c) {
  auto* cf = static_cast<CoreConf*>(c);
  if (cf->error_log) p.fail(s, "\"error_log\" directive is duplicate");
  cf->error_log = p.resolve(s.args()[0]);
  if (s.args().size() == 2) {
    Level l;
    if (!parse_level(s.args()[1], l)) p.invalid_value(s, s.args()[1]);
    cf->error_level = l;
  }
}

void load_module(ConfParser& p, const Stmt& s, ModuleConf*) {
  Cycle& cycle = p.cycle();
  if (cycle.mail) p.fail(s, "\"load_module\" directive must come before the \"mail\" block");
  std::string path = p.resolve(s.args()[0]);
  void* h = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!h) p.fail(s, std::string("dlopen() \"") + path + "\" failed (" + dlerror() + ")");
  cycle.dl_handles.push_back(h);
  auto* m = static_cast<const Module*>(dlsym(h, "gannet_module"));
  if (!m) p.fail(s, "module \"" + path + "\" has no symbol \"gannet_module\"");
  if (m->abi != kModuleAbi)
    p.fail(s, "module \"" + path + "\" has ABI version " + std::to_string(m->abi) + ", expected " +
                  std::to_string(kModuleAbi));
  for (const Module* have : cycle.modules)
    if (have->name == m->name) p.fail(s, "module \"" + std::string(m->name) + "\" is already loaded");
  cycle.add_module(m);
}

// The row sits in the core module's table (it opens a main-context block),
// but what it records belongs to the events module.
void events_block(ConfParser& p, const Stmt& s, ModuleConf*) {
  auto* ev = &p.cycle().main_conf<EventsConf>(events_module);
  if (ev->seen) p.fail(s, "\"events\" directive is duplicate");
  ev->seen = true;
  p.parse_block(CTX_EVENTS, nullptr);
}

ConfVector create_srv_confs(const Cycle& cycle) {
  ConfVector v(cycle.modules.size());
  for (const Module* m : cycle.modules)
    if (m->create_srv_conf) v[m->index] = m->create_srv_conf();
  return v;
}

void mail_block(ConfParser& p, const Stmt& s, ModuleConf*) {
  Cycle& cycle = p.cycle();
  if (cycle.mail) p.fail(s, "\"mail\" directive is duplicate");
  cycle.mail = std::make_unique<ConfVector>(create_srv_confs(cycle));
  p.parse_block(CTX_MAIL, cycle.mail.get());
}

void server_block(ConfParser& p, const Stmt& s, ModuleConf*) {
  Cycle& cycle = p.cycle();
  auto srv = std::make_unique<ServerConf>();
  srv->confs = create_srv_confs(cycle);
  srv->file = s.file;
  srv->line = s.line;
  cycle.servers.push_back(std::move(srv));
  p.parse_block(CTX_SERVER, &cycle.servers.back()->confs);
}

void set_listen(ConfParser& p, const Stmt& s, ModuleConf*) {
  ListenAddr la;
  if (!parse_listen_addr(s.args()[0], la)) p.fail(s, "invalid address \"" + s.args()[0] + "\" in \"listen\" directive");
  for (auto& opt : s.args().subspan(1)) {
    if (opt == "ssl") la.ssl = true;
    else p.fail(s, "invalid parameter \"" + opt + "\" in \"listen\" directive");
  }
  Cycle& cycle = p.cycle();
  for (auto& other : cycle.listens)
    if (other.text == la.text) p.fail(s, "duplicate listen " + la.text + " (first at " + other.file + ":" + std::to_string(other.line) + ")");
  la.server = cycle.servers.size() - 1;
  la.file = s.file;
  la.line = s.line;
  cycle.listens.push_back(std::move(la));
}

void set_ssl_protocols(ConfParser& p, const Stmt& s, ModuleConf* c) {
  auto& f = static_cast<MailSrvConf*>(c)->ssl_protocols;
  if (f) p.fail(s, "\"ssl_protocols\" directive is duplicate");
  for (auto& a : s.args())
    if (a != "TLSv1.2" && a != "TLSv1.3") p.fail(s, "invalid value \"" + a + "\" in \"ssl_protocols\" directive, it must be \"TLSv1.2\" or \"TLSv1.3\"");
  f.emplace(s.args().begin(), s.args().end());
}

// ssl_certificate and ssl_certificate_key repeat: one pair per key type.
template <auto M>
void add_path(ConfParser& p, const Stmt& s, ModuleConf* c) {
  auto& f = conf_field<M>(c);
  if (!f) f.emplace();
  f->push_back(p.resolve(s.args()[0]));
}

template <auto M>
void set_timeout(ConfParser& p, const Stmt& s, ModuleConf* c) {
  set_msec<M>(p, s, c);
  if (*conf_field<M>(c) == 0) p.invalid_value(s, s.args()[0]);
}

// filters NAME...: which filter modules a server runs, in this order.
void set_filters(ConfParser& p, const Stmt& s, ModuleConf* c) {
  auto& list = static_cast<MailSrvConf*>(c)->filters;
  if (list) p.fail(s, "\"filters\" is duplicate");
  list.emplace();
  for (const std::string& name : s.args()) {
    const Module* found = nullptr;
    for (const Module* m : p.cycle().filter_modules())
      if (m->name == name) found = m;
    if (!found) p.fail(s, "\"" + name + "\" is not a filter module (filters: dkim, ratelimit, ... or one load_module loaded)");
    for (const Module* m : *list)
      if (m == found) p.fail(s, "\"" + name + "\" is named twice in \"filters\"");
    list->push_back(found);
  }
}

const Directive core_directives[] = {
    {"worker_processes", CTX_MAIN | TAKE1, Slot::main, set_worker_processes},
    {"user", CTX_MAIN | TAKE12, Slot::main, set_user},
    {"pid", CTX_MAIN | TAKE1, Slot::main, set_path<&CoreConf::pid>},
    {"error_log", CTX_MAIN | TAKE12, Slot::main, set_error_log},
    {"worker_shutdown_timeout", CTX_MAIN | TAKE1, Slot::main, set_timeout<&CoreConf::worker_shutdown_timeout>},
    {"worker_rlimit_nofile", CTX_MAIN | TAKE1, Slot::main, set_number<&CoreConf::worker_rlimit_nofile, 1, 1 << 30>},
    {"load_module", CTX_MAIN | TAKE1, Slot::main, load_module},
    {"events", CTX_MAIN | BLOCK | TAKE0, Slot::main, events_block},
    {"mail", CTX_MAIN | BLOCK | TAKE0, Slot::main, mail_block},
};

const Directive events_directives[] = {
    {"worker_connections", CTX_EVENTS | TAKE1, Slot::main, set_number<&EventsConf::worker_connections, 1, 10'000'000>},
};

const Directive mail_directives[] = {
    {"server", CTX_MAIL | BLOCK | TAKE0, Slot::srv, server_block},
    {"listen", CTX_SERVER | TAKE12 | TAKE3, Slot::srv, set_listen},
    {"protocol", CTX_SERVER | TAKE1, Slot::srv, set_str<&MailSrvConf::protocol>},
    {"server_name", CTX_MAIL | CTX_SERVER | TAKE1, Slot::srv, set_str<&MailSrvConf::server_name>},
    {"ssl_certificate", CTX_MAIL | CTX_SERVER | TAKE1, Slot::srv, add_path<&MailSrvConf::ssl_certificate>},
    {"ssl_certificate_key", CTX_MAIL | CTX_SERVER | TAKE1, Slot::srv, add_path<&MailSrvConf::ssl_certificate_key>},
    {"ssl_protocols", CTX_MAIL | CTX_SERVER | ONE_MORE, Slot::srv, set_ssl_protocols},
    {"ssl_ciphers", CTX_MAIL | CTX_SERVER | TAKE1, Slot::srv, set_str<&MailSrvConf::ssl_ciphers>},
    {"ssl_session_tickets", CTX_MAIL | CTX_SERVER | TAKE1, Slot::srv, set_flag<&MailSrvConf::ssl_session_tickets>},
    {"ssl_session_timeout", CTX_MAIL | CTX_SERVER | TAKE1, Slot::srv, set_timeout<&MailSrvConf::ssl_session_timeout>},
    {"timeout", CTX_MAIL | CTX_SERVER | TAKE1, Slot::srv, set_timeout<&MailSrvConf::timeout>},
    {"command_timeout", CTX_MAIL | CTX_SERVER | TAKE1, Slot::srv, set_timeout<&MailSrvConf::command_timeout>},
    {"send_buffer_limit", CTX_MAIL | CTX_SERVER | TAKE1, Slot::srv, set_size<&MailSrvConf::max_output>},
    {"session_log", CTX_MAIL | CTX_SERVER | TAKE1, Slot::srv, set_path<&MailSrvConf::session_log>},
    {"filters", CTX_MAIL | CTX_SERVER | ONE_MORE, Slot::srv, set_filters},
    {"message_buffer_size", CTX_MAIL | CTX_SERVER | TAKE1, Slot::srv, set_size<&MailSrvConf::message_buffer_size>},
};

std::unique_ptr<ModuleConf> create_core_conf() { return std::make_unique<CoreConf>(); }

std::string init_core_conf(Cycle& cycle, ModuleConf& c) {
  auto& cf = static_cast<CoreConf&>(c);
  merge(cf.worker_processes, {}, 1);
  merge(cf.pid, {}, cycle.prefix + "/gannet.pid");
  merge(cf.error_log, {}, cycle.prefix + "/logs/error.log");
  merge(cf.error_level, {}, Level::error);
  merge(cf.worker_shutdown_timeout, {}, 60'000);
  // A root master never runs its workers as root unless told to: they
  // parse what strangers send. nobody only when the install step's
  // account is missing (the master says so).
  if (!cf.user && geteuid() == 0) {
    cf.user_implicit = true;
    if (!take_account(cf, kDefaultUser) && !take_account(cf, "nobody"))
      return "no \"user\" directive, and neither the \"" + std::string(kDefaultUser) +
             "\" nor the \"nobody\" account exists to run the workers as";
  }
  return {};
}

std::unique_ptr<ModuleConf> create_events_conf() { return std::make_unique<EventsConf>(); }

std::string init_events_conf(Cycle&, ModuleConf& c) {
  merge(static_cast<EventsConf&>(c).worker_connections, {}, 100'000);
  return {};
}

std::unique_ptr<ModuleConf> create_mail_conf() { return std::make_unique<MailSrvConf>(); }

std::string merge_mail_conf(const ModuleConf& parent, ModuleConf& child) {
  auto& p = static_cast<const MailSrvConf&>(parent);
  auto& c = static_cast<MailSrvConf&>(child);
  merge(c.ssl_certificate, p.ssl_certificate);
  merge(c.ssl_certificate_key, p.ssl_certificate_key);
  merge(c.ssl_protocols, p.ssl_protocols, std::vector<std::string>{"TLSv1.2", "TLSv1.3"});
  // Mozilla "intermediate": forward secrecy and AEAD only (TLS 1.2; 1.3 suites are fixed).
  merge(c.ssl_ciphers, p.ssl_ciphers,
        "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:"
        "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305");
  merge(c.ssl_session_tickets, p.ssl_session_tickets, true);
  merge(c.ssl_session_timeout, p.ssl_session_timeout, 300'000);
  merge(c.server_name, p.server_name, "localhost");
  merge(c.timeout, p.timeout, 300'000);
  merge(c.command_timeout, p.command_timeout, 60'000);
  merge(c.max_output, p.max_output, 256u << 10);
  merge(c.message_buffer_size, p.message_buffer_size, 256u << 10);
  merge(c.session_log, p.session_log);
  if (!c.filters) c.filters = p.filters;
  auto certs = c.ssl_certificate ? c.ssl_certificate->size() : 0;
  auto keys = c.ssl_certificate_key ? c.ssl_certificate_key->size() : 0;
  if (certs != keys) return "every \"ssl_certificate\" needs its \"ssl_certificate_key\"";
  return {};
}

}  // namespace

Module core_module{.name = "core", .directives = core_directives,
                   .create_main_conf = create_core_conf, .init_main_conf = init_core_conf};

Module events_module{.name = "events", .directives = events_directives,
                     .create_main_conf = create_events_conf, .init_main_conf = init_events_conf};

// Login's shared secrets are made before the fork, so every worker has them.
std::string init_mail_master(Cycle&) {
  auth::init();
  return {};
}

Module mail_module{.name = "mail", .directives = mail_directives,
                   .create_srv_conf = create_mail_conf, .merge_srv_conf = merge_mail_conf,
                   .init_master = init_mail_master};

}  // namespace gannet

namespace gannet {
std::span<const Module* const> core_modules() {
  static const Module* const list[] = {&core_module, &events_module, &mail_module, &store_module, &dns_module};
  return list;
}
}  // namespace gannet
