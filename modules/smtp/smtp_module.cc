#include "smtp_module.h"

#include <unistd.h>

#include <fstream>

#include "conf.h"
#include "core_module.h"
#include "cycle.h"
#include "listen_addr.h"
#include "queue_runner.h"
#include "smtp_session.h"
#include "store/store_module.h"
#include "tls.h"
#include "worker.h"

namespace gannet {

namespace smtp {
namespace {

std::optional<Role> parse_role(std::string_view v) {
  if (v == "mx") return Role::mx;
  if (v == "submission") return Role::submission;
  return std::nullopt;
}
inline constexpr char kRoles[] = ", it must be \"mx\" or \"submission\"";

// smtp_route DOMAIN HOST:PORT; smtp_relayhost HOST:PORT is the route for "*".
void add_route(ConfParser& p, const Stmt& s, const std::string& domain, const std::string& target, ModuleConf* c) {
  auto colon = target.rfind(':');
  SmtpMainConf::Route r;
  r.domain = domain == "*" ? "*" : store::normalize_domain(domain);
  r.host = target.substr(0, colon);
  if (!r.host.empty() && r.host.front() == '[' && r.host.back() == ']') r.host = r.host.substr(1, r.host.size() - 2);
  auto port = colon == std::string::npos ? std::optional<int64_t>(25) : parse_number(target.substr(colon + 1));
  if (r.domain.empty()) p.fail(s, "invalid domain \"" + domain + "\" in \"" + s.name() + "\" directive");
  if (r.host.empty() || !port || *port < 1 || *port > 65535) p.invalid_value(s, target);
  r.port = static_cast<uint16_t>(*port);
  auto& routes = static_cast<SmtpMainConf*>(c)->routes;
  for (auto& other : routes)
    if (other.domain == r.domain) p.fail(s, "duplicate route for \"" + domain + "\"");
  routes.push_back(std::move(r));
}

void set_route(ConfParser& p, const Stmt& s, ModuleConf* c) { add_route(p, s, s.args()[0], s.args()[1], c); }
// smtp_relayhost HOST[:PORT] [ssl]: ssl for a relay host that speaks TLS
// from the first byte (SMTPS, port 465) rather than STARTTLS.
void set_relayhost(ConfParser& p, const Stmt& s, ModuleConf* c) {
  if (s.args().size() == 2 && s.args()[1] != "ssl") p.invalid_value(s, s.args()[1]);
  add_route(p, s, "*", s.args()[0], c);
  static_cast<SmtpMainConf*>(c)->routes.back().ssl = s.args().size() == 2;
}

// Remembers where a smtp_relayhost_* directive was, for init_main_conf.
void note_relay_directive(const Stmt& s, ModuleConf* c) {
  static_cast<SmtpMainConf*>(c)->relay_directives[s.name()] = {s.file, s.line};
}

void set_relay_tls_verify(ConfParser& p, const Stmt& s, ModuleConf* c) {
  set_flag<&SmtpMainConf::relay_tls_verify>(p, s, c);
  note_relay_directive(s, c);
}

void set_relay_tls_ca(ConfParser& p, const Stmt& s, ModuleConf* c) {
  set_path<&SmtpMainConf::relay_tls_ca>(p, s, c);
  note_relay_directive(s, c);
}

// smtp_relayhost_auth LOGIN FILE: the password is the file's first line,
// so it stays out of a config file that more people may read.
void set_relayhost_auth(ConfParser& p, const Stmt& s, ModuleConf* c) {
  auto& m = *static_cast<SmtpMainConf*>(c);
  note_relay_directive(s, c);
  if (m.relay_auth_user) p.fail(s, "\"" + s.name() + "\" directive is duplicate");
  std::string path = p.resolve(s.args()[1]);
  std::ifstream in(path);
  std::string password;
  if (!in || !std::getline(in, password))
    p.fail(s, "cannot read the password file \"" + path + "\" of \"" + s.name() + "\"");
  if (!password.empty() && password.back() == '\r') password.pop_back();
  if (password.empty()) p.fail(s, "the password file \"" + path + "\" of \"" + s.name() + "\" has an empty first line");
  if (s.args()[0].empty() || s.args()[0].find('\0') != std::string::npos) p.invalid_value(s, s.args()[0]);
  m.relay_auth_user = s.args()[0];
  m.relay_auth_password = password;
}

// A worker takes its first look at the queue one interval after it starts,
// then every interval: 0 would be libuv's "no repeat", a worker that looks
// once and never again. Below kMinQueueInterval the looks cost more than
// they find.
constexpr uint64_t kMinQueueInterval = 100;  // ms
void set_queue_interval(ConfParser& p, const Stmt& s, ModuleConf* c) {
  set_msec<&SmtpMainConf::queue_interval>(p, s, c);
  if (*static_cast<SmtpMainConf*>(c)->queue_interval < kMinQueueInterval)
    p.fail(s, "invalid value \"" + s.args()[0] + "\" in \"" + s.name() + "\" directive, it must be at least " +
                  std::to_string(kMinQueueInterval) + "ms");
}

const Directive directives[] = {
    {"smtp_route", CTX_MAIN | TAKE2, Slot::main, set_route},
    {"smtp_relayhost", CTX_MAIN | TAKE12, Slot::main, set_relayhost},
    {"smtp_relayhost_auth", CTX_MAIN | TAKE2, Slot::main, set_relayhost_auth},
    {"smtp_relayhost_tls_verify", CTX_MAIN | TAKE1, Slot::main, set_relay_tls_verify},
    {"smtp_relayhost_tls_ca", CTX_MAIN | TAKE1, Slot::main, set_relay_tls_ca},
    {"smtp_queue_lifetime", CTX_MAIN | TAKE1, Slot::main, set_msec<&SmtpMainConf::queue_lifetime>},
    {"smtp_delay_warning_time", CTX_MAIN | TAKE1, Slot::main, set_msec<&SmtpMainConf::delay_warning_time>},
    {"smtp_queue_retry", CTX_MAIN | TAKE1, Slot::main, set_msec<&SmtpMainConf::queue_retry>},
    {"smtp_queue_interval", CTX_MAIN | TAKE1, Slot::main, set_queue_interval},
    {"smtp_delivery_port", CTX_MAIN | TAKE1, Slot::main, set_number<&SmtpMainConf::delivery_port, 1, 65535>},
    {"smtp_delivery_concurrency", CTX_MAIN | TAKE1, Slot::main, set_number<&SmtpMainConf::delivery_concurrency, 1, 10000>},
    {"smtp_helo_name", CTX_MAIN | TAKE1, Slot::main, set_str<&SmtpMainConf::helo_name>},
    {"smtp_delivery", CTX_MAIN | TAKE1, Slot::main, set_flag<&SmtpMainConf::delivery>},
    {"smtp_role", CTX_MAIL | CTX_SERVER | TAKE1, Slot::srv, set_parsed<&SmtpConf::role, parse_role, kRoles>},
    {"smtp_max_message_size", CTX_MAIL | CTX_SERVER | TAKE1, Slot::srv, set_size<&SmtpConf::max_message_size>},
    {"smtp_max_recipients", CTX_MAIL | CTX_SERVER | TAKE1, Slot::srv, set_number<&SmtpConf::max_recipients, 1, 100000>},
    {"smtp_max_errors", CTX_MAIL | CTX_SERVER | TAKE1, Slot::srv, set_number<&SmtpConf::max_errors, 1, 1000>},
    {"smtp_vrfy", CTX_MAIL | CTX_SERVER | TAKE1, Slot::srv, set_flag<&SmtpConf::vrfy>},
    {"smtp_auth_plaintext", CTX_MAIL | CTX_SERVER | TAKE1, Slot::srv, set_flag<&SmtpConf::auth_plaintext>},
    {"smtp_greeting_delay", CTX_MAIL | CTX_SERVER | TAKE1, Slot::srv, set_msec<&SmtpConf::greeting_delay>},
    {"smtp_auth_failure_delay", CTX_MAIL | CTX_SERVER | TAKE1, Slot::srv, set_msec<&SmtpConf::auth_failure_delay>},
};

std::unique_ptr<ModuleConf> create_conf() { return std::make_unique<SmtpConf>(); }
std::unique_ptr<ModuleConf> create_main_conf() { return std::make_unique<SmtpMainConf>(); }

std::string init_main_conf(Cycle&, ModuleConf& c) {
  auto& m = static_cast<SmtpMainConf&>(c);
  char host[256] = "localhost";
  gethostname(host, sizeof host - 1);
  merge(m.queue_lifetime, {}, 5ull * 86'400'000);
  merge(m.delay_warning_time, {}, 0);
  merge(m.queue_retry, {}, 300'000);
  merge(m.queue_interval, {}, 1000);
  merge(m.delivery_port, {}, 25);
  merge(m.delivery_concurrency, {}, 50);
  merge(m.helo_name, {}, host);
  merge(m.delivery, {}, true);
  merge(m.relay_tls_verify, {}, false);
  merge(m.relay_tls_ca, {}, "/etc/ssl/certs/ca-certificates.crt");  // Debian's ca-certificates
  auto fail_at = [&](std::string_view directive, const std::string& msg) {
    auto it = m.relay_directives.find(directive);
    if (it == m.relay_directives.end()) return msg;  // the default's fault: the file as a whole
    throw ConfError(msg, it->second.first, it->second.second);
  };
  bool relayhost = find_route(m.routes, "*") != nullptr;
  if (m.relay_auth_user && !relayhost)
    return fail_at("smtp_relayhost_auth", "\"smtp_relayhost_auth\" is given without \"smtp_relayhost\"");
  if (*m.relay_tls_verify) {
    if (!relayhost) return fail_at("smtp_relayhost_tls_verify", "\"smtp_relayhost_tls_verify\" is on without \"smtp_relayhost\"");
    std::string err;
    if (!(m.relay_tls = verifying_client_context(*m.relay_tls_ca, err)))
      return fail_at("smtp_relayhost_tls_ca", "\"smtp_relayhost_tls_ca\": " + err);
  }
  return {};
}

std::unique_ptr<QueueRunner> g_runner;

std::string init_worker(Worker& w) {
  auto& m = w.cycle().main_conf<SmtpMainConf>(smtp_module);
  if (!*m.delivery || !worker_store()) return {};
  std::string err;
  g_runner = QueueRunner::create(w, m, *worker_store(), err);
  return err;
}

void exit_worker(Worker&) { g_runner.reset(); }

std::string merge_conf(const ModuleConf& parent, ModuleConf& child) {
  auto& p = static_cast<const SmtpConf&>(parent);
  auto& c = static_cast<SmtpConf&>(child);
  merge(c.role, p.role, Role::mx);
  merge(c.max_message_size, p.max_message_size, 25u << 20);
  merge(c.max_recipients, p.max_recipients, 100);
  merge(c.max_errors, p.max_errors, 10);
  merge(c.vrfy, p.vrfy, false);
  merge(c.auth_plaintext, p.auth_plaintext, false);
  merge(c.greeting_delay, p.greeting_delay, 0);
  merge(c.auth_failure_delay, p.auth_failure_delay, 1000);
  return {};
}

// RFC 5321 4.5.3.1.4-6: 512 octets for a command line, 1000 for a text
// line, both with their CRLF, not counting a stuffing dot: the reader
// takes 999, commands and text lines check their own limits.
// RFC 5321 3.8: a server that cannot take the session says 421 and closes.
std::string busy_reply(const ServerConf& srv) {
  return "421 4.3.2 " + *srv.conf<MailSrvConf>(mail_module).server_name + " Too many connections, try again later\r\n";
}

const Protocol protocol{.name = "smtp", .default_port = 25, .default_ssl_port = 465,
                        .line_end = kCommandLineEnd, .max_line = kMaxTextLine + 1, .make_session = make_session,
                        .busy_reply = busy_reply};

}  // namespace
}  // namespace smtp

Module smtp_module{.name = "smtp", .directives = smtp::directives,
                   .create_main_conf = smtp::create_main_conf, .init_main_conf = smtp::init_main_conf,
                   .create_srv_conf = smtp::create_conf, .merge_srv_conf = smtp::merge_conf,
                   .init_worker = smtp::init_worker,
                   .exit_worker = smtp::exit_worker,
                   .protocol = &smtp::protocol};

}  // namespace gannet
