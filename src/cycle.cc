// Building a cycle: create every conf, parse, init/merge, validate.
#include "cycle.h"

#include <dlfcn.h>

#include "core_module.h"
#include "tls.h"

namespace gannet {

Cycle::~Cycle() {
  // Confs may hold objects whose code lives in a loaded module: free first.
  servers.clear();
  mail.reset();
  main_confs.clear();
  for (void* h : dl_handles) dlclose(h);
}

void Cycle::add_module(const Module* m) {
  m->index = static_cast<int>(modules.size());
  modules.push_back(m);
  if (m->hooks) filters.push_back(m);
  main_confs.push_back(m->create_main_conf ? m->create_main_conf() : nullptr);
}

std::shared_ptr<LogFile> Cycle::log_file(const std::string& path) {
  for (auto& f : log_files)
    if (f->path() == path) return f;
  log_files.push_back(std::make_shared<LogFile>(path));
  return log_files.back();
}

static const Module* find_protocol(const Cycle& cycle, const std::string& name) {
  for (const Module* m : cycle.modules)
    if (m->protocol && m->protocol->name == name) return m;
  return nullptr;
}

// Merges and checks one server block.
static void finish_server(Cycle& cycle, size_t index, const ConfVector& mail) {
  ServerConf& srv = *cycle.servers[index];
  for (const Module* m : cycle.modules) {
    if (!m->merge_srv_conf) continue;
    std::string err = m->merge_srv_conf(*mail[m->index], *srv.confs[m->index]);
    if (!err.empty()) throw ConfError(err, srv.file, srv.line);
  }
  auto& mc = srv.conf<MailSrvConf>(mail_module);
  if (!mc.protocol) throw ConfError("no \"protocol\" is defined for the server", srv.file, srv.line);
  srv.protocol_module = find_protocol(cycle, *mc.protocol);
  if (!srv.protocol_module) throw ConfError("unknown protocol \"" + *mc.protocol + "\"", srv.file, srv.line);
  srv.protocol = srv.protocol_module->protocol;

  bool has_listen = false, wants_tls = false;
  for (auto& la : cycle.listens) {
    if (la.server != index) continue;
    has_listen = true;
    wants_tls |= la.ssl;
  }
  if (!has_listen) throw ConfError("no \"listen\" is defined for the server", srv.file, srv.line);
  if (mc.ssl_certificate && !mc.ssl_certificate->empty()) {
    TlsSettings ts{*mc.ssl_certificate, *mc.ssl_certificate_key, *mc.ssl_protocols, *mc.ssl_ciphers,
                   *mc.ssl_session_tickets, *mc.ssl_session_timeout};
    std::string err;
    srv.tls = TlsContext::create(ts, err);
    if (!srv.tls) throw ConfError(err, srv.file, srv.line);
  } else if (wants_tls) {
    throw ConfError("no \"ssl_certificate\" is defined for the ssl listener", srv.file, srv.line);
  }
  if (mc.session_log) srv.session_log = cycle.log_file(*mc.session_log);
}

// Both entry points differ only in where the main file's text comes from.
template <class Parse>
static std::unique_ptr<Cycle> build_cycle(const std::string& conf_file, const std::string& prefix, Parse&& parse) {
  auto cycle = std::make_unique<Cycle>();
  cycle->conf_file = conf_file;
  cycle->prefix = prefix;
  for (const Module* m : core_modules()) cycle->add_module(m);
  for (const Module* m : compiled_modules()) cycle->add_module(m);

  ConfParser parser(*cycle);
  parse(parser);

  for (const Module* m : cycle->modules) {
    if (!m->init_main_conf) continue;
    std::string err = m->init_main_conf(*cycle, *cycle->main_confs[m->index]);
    if (!err.empty()) throw ConfError(err, conf_file, 0);
  }
  if (!cycle->mail) cycle->mail = std::make_unique<ConfVector>();
  for (size_t i = 0; i < cycle->servers.size(); i++) finish_server(*cycle, i, *cycle->mail);

  auto& core = cycle->main_conf<CoreConf>(core_module);
  cycle->log_file(*core.error_log);
  return cycle;
}

std::unique_ptr<Cycle> load_cycle(const std::string& conf_file, const std::string& prefix) {
  return build_cycle(conf_file, prefix, [&](ConfParser& p) { p.parse_file(conf_file); });
}

std::unique_ptr<Cycle> load_cycle_from_string(const std::string& name, std::string text, const std::string& prefix) {
  return build_cycle(name, prefix, [&](ConfParser& p) { p.parse_string(name, std::move(text)); });
}

}  // namespace gannet
