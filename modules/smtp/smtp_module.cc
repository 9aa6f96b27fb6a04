#include "smtp_module.h"

#include "conf.h"
#include "smtp_session.h"

namespace gannet {

namespace smtp {
namespace {

std::optional<Role> parse_role(std::string_view v) {
  if (v == "mx") return Role::mx;
  if (v == "submission") return Role::submission;
  return std::nullopt;
}
inline constexpr char kRoles[] = ", it must be \"mx\" or \"submission\"";

const Directive directives[] = {
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
// line, both with their CRLF.
const Protocol protocol{.name = "smtp", .default_port = 25, .default_ssl_port = 465,
                        .line_end = LineEnd::crlf, .max_line = 998, .make_session = make_session};

}  // namespace
}  // namespace smtp

Module smtp_module{.name = "smtp", .directives = smtp::directives,
                   .create_srv_conf = smtp::create_conf, .merge_srv_conf = smtp::merge_conf,
                   .protocol = &smtp::protocol};

}  // namespace gannet
