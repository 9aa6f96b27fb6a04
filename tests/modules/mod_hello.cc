// A loadable protocol module: "protocol hello;" greets with hello_text.
#include "connection.h"
#include "cycle.h"
#include "module.h"

namespace gannet {
extern "C" Module gannet_module;

namespace {
struct HelloConf : ModuleConf {
  std::optional<std::string> text;
};

const Directive directives[] = {
    {"hello_text", CTX_MAIL | CTX_SERVER | TAKE1, Slot::srv, set_str<&HelloConf::text>},
};

class HelloSession final : public Session {
 public:
  explicit HelloSession(Connection& c) : c_(c) {}
  void on_start() override { c_.write("+" + *c_.server().conf<HelloConf>(gannet_module).text + "\r\n"); }
  void on_line(std::string_view) override { c_.close(); }
  void on_line_too_long(std::string_view) override { c_.close(); }

 private:
  Connection& c_;
};

const Protocol protocol{.name = "hello", .line_end = LineEnd::lf, .max_line = 512,
                        .make_session = [](Connection& c) -> std::unique_ptr<Session> { return std::make_unique<HelloSession>(c); }};
}  // namespace

Module gannet_module{
    .name = "hello", .directives = directives,
    .create_srv_conf = [] () -> std::unique_ptr<ModuleConf> { return std::make_unique<HelloConf>(); },
    .merge_srv_conf = [](const ModuleConf& p, ModuleConf& c) -> std::string {
      merge(static_cast<HelloConf&>(c).text, static_cast<const HelloConf&>(p).text, "hello from a loaded module");
      return {};
    },
    .protocol = &protocol};
}  // namespace gannet
