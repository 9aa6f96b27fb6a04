#include "pop3_module.h"

#include "conf.h"
#include "pop3_parse.h"
#include "pop3_session.h"

namespace gannet {

namespace pop3 {
namespace {

const Directive directives[] = {
    {"pop3_auth_plaintext", CTX_MAIL | CTX_SERVER | TAKE1, Slot::srv, set_flag<&Pop3Conf::auth_plaintext>},
    {"pop3_auth_failure_delay", CTX_MAIL | CTX_SERVER | TAKE1, Slot::srv, set_msec<&Pop3Conf::auth_failure_delay>},
};

std::unique_ptr<ModuleConf> create_conf() { return std::make_unique<Pop3Conf>(); }

std::string merge_conf(const ModuleConf& parent, ModuleConf& child) {
  auto& p = static_cast<const Pop3Conf&>(parent);
  auto& c = static_cast<Pop3Conf&>(child);
  merge(c.auth_plaintext, p.auth_plaintext, false);
  merge(c.auth_failure_delay, p.auth_failure_delay, 1000);
  return {};
}

std::string busy_reply(const ServerConf&) { return "-ERR [SYS/TEMP] Too many connections, try again later\r\n"; }

// Command lines are short (RFC 2449: 255 octets); an AUTH response may be
// longer: SCRAM's client-final in base64.
const Protocol protocol{.name = "pop3", .default_port = 110, .default_ssl_port = 995, .line_end = LineEnd::lf,
                        .max_line = 2048, .make_session = make_session, .busy_reply = busy_reply};

}  // namespace
}  // namespace pop3

Module pop3_module{.name = "pop3", .directives = pop3::directives, .create_srv_conf = pop3::create_conf,
                   .merge_srv_conf = pop3::merge_conf, .protocol = &pop3::protocol};

}  // namespace gannet
