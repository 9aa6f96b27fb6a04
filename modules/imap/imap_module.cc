#include "imap_module.h"

#include "conf.h"
#include "core_module.h"
#include "imap_session.h"

namespace gannet {

namespace imap {
namespace {

const Directive directives[] = {
    {"imap_auth_plaintext", CTX_MAIL | CTX_SERVER | TAKE1, Slot::srv, set_flag<&ImapConf::auth_plaintext>},
    {"imap_auth_failure_delay", CTX_MAIL | CTX_SERVER | TAKE1, Slot::srv, set_msec<&ImapConf::auth_failure_delay>},
    {"imap_max_line_length", CTX_MAIL | CTX_SERVER | TAKE1, Slot::srv, set_size<&ImapConf::max_command>},
    {"imap_max_literal_size", CTX_MAIL | CTX_SERVER | TAKE1, Slot::srv, set_size<&ImapConf::max_literal>},
};

std::unique_ptr<ModuleConf> create_conf() { return std::make_unique<ImapConf>(); }

std::string merge_conf(const ModuleConf& parent, ModuleConf& child) {
  auto& p = static_cast<const ImapConf&>(parent);
  auto& c = static_cast<ImapConf&>(child);
  merge(c.auth_plaintext, p.auth_plaintext, false);
  merge(c.auth_failure_delay, p.auth_failure_delay, 1000);
  merge(c.max_command, p.max_command, 64u << 10);
  merge(c.max_literal, p.max_literal, 64u << 20);
  return {};
}

// A refused connection hears why before the close (RFC 9051 7.1.5).
std::string busy_reply(const ServerConf&) { return "* BYE Too many connections, try again later\r\n"; }

// A physical line: RFC 7162 3 asks clients to keep command lines within
// 8192 octets; longer commands come in pieces between literals.
const Protocol protocol{.name = "imap", .default_port = 143, .default_ssl_port = 993, .line_end = LineEnd::lf,
                        .max_line = 8192, .make_session = make_session, .busy_reply = busy_reply};

}  // namespace
}  // namespace imap

Module imap_module{.name = "imap", .directives = imap::directives, .create_srv_conf = imap::create_conf,
                   .merge_srv_conf = imap::merge_conf, .protocol = &imap::protocol};

}  // namespace gannet
