// A loadable filter module, beside the compiled-in testfilter, for the
// order of `filters`: it tags each message with tagfilter_text and refuses
// one that says "stop-tag".
#include "mail/message_buffer.h"
#include "cycle.h"
#include "module.h"

namespace gannet {
extern "C" Module gannet_module;

namespace {
struct TagConf : ModuleConf {
  std::optional<std::string> text;
};

const Directive directives[] = {
    {"tagfilter_text", CTX_MAIL | CTX_SERVER | TAKE1, Slot::srv, set_str<&TagConf::text>},
};

FilterStatus on_message(PhaseRun& run) {
  if (run.message->start().find("stop-tag") != std::string::npos) {
    run.verdict = Verdict::refuse("stopped by tagfilter");
    return FilterStatus::reject;
  }
  run.add_header("X-Tag", *run.server.conf<TagConf>(gannet_module).text);
  return FilterStatus::next;
}

const PhaseHooks hooks = [] {
  PhaseHooks h{};
  h[static_cast<size_t>(Phase::message)] = on_message;
  return h;
}();
}  // namespace

Module gannet_module{
    .name = "tagfilter", .directives = directives,
    .create_srv_conf = [] () -> std::unique_ptr<ModuleConf> { return std::make_unique<TagConf>(); },
    .merge_srv_conf = [](const ModuleConf& p, ModuleConf& c) -> std::string {
      merge(static_cast<TagConf&>(c).text, static_cast<const TagConf&>(p).text, "tagged");
      return {};
    },
    .hooks = &hooks};
}  // namespace gannet
