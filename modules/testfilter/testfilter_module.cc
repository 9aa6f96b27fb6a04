// A filter module for the core's tests: it hooks the message phase, may
// wait on a timer first (as DNS or a shared counter would make a real filter
// wait), and decides on words in the message: "spam" is refused, "later"
// deferred, "junk" filed into Junk. Every message it passes gets a header
// saying what it saw of the envelope, and how many messages of the session
// it has seen (its per-session context).
#include <uv.h>

#include "connection.h"
#include "cycle.h"
#include "mail/message_buffer.h"
#include "module.h"
#include "worker.h"

namespace gannet {

extern Module testfilter_module;

namespace {

struct TestFilterConf : ModuleConf {
  std::optional<bool> enabled;
  std::optional<uint64_t> delay;  // ms
};

const Directive testfilter_directives[] = {
    {"testfilter", CTX_MAIL | CTX_SERVER | TAKE1, Slot::srv, set_flag<&TestFilterConf::enabled>},
    {"testfilter_delay", CTX_MAIL | CTX_SERVER | TAKE1, Slot::srv, set_msec<&TestFilterConf::delay>},
};

struct Seen : FilterCtx {
  int messages = 0;
};

FilterStatus decide(PhaseRun& run) {
  std::string text = run.message->start();
  if (text.find("spam") != std::string::npos) {
    run.verdict = Verdict::refuse("spam refused");
    return FilterStatus::reject;
  }
  if (text.find("later") != std::string::npos) {
    run.verdict = Verdict::later("try later", "4.7.0");
    return FilterStatus::reject;
  }
  if (text.find("junk") != std::string::npos) run.verdict = Verdict::file("Junk");
  const Envelope& e = run.envelope;
  int n = ++run.ctx<Seen>(testfilter_module).messages;
  run.add_header("X-Testfilter", "n=" + std::to_string(n) + "; client=" + e.client_ip + "; helo=" + e.helo +
                 "; from=<" + e.mail_from + ">; rcpts=" + std::to_string(e.rcpts.size()) + "; user=" + e.user);
  return FilterStatus::next;
}

// A pending delay: owns its timer, freed once libuv has closed it.
struct Delay {
  uv_timer_t timer;
  PhaseRun* run;
};

void close_delay(Delay* d) {
  uv_close(reinterpret_cast<uv_handle_t*>(&d->timer), [](uv_handle_t* h) { delete static_cast<Delay*>(h->data); });
}

FilterStatus on_message(PhaseRun& run) {
  auto& cf = run.server.conf<TestFilterConf>(testfilter_module);
  if (!*cf.enabled) return FilterStatus::next;
  if (*cf.delay == 0) return decide(run);
  auto* d = new Delay{{}, &run};
  uv_timer_init(run.conn.worker().loop(), &d->timer);
  d->timer.data = d;
  uv_timer_start(&d->timer, [](uv_timer_t* t) {
    auto* d = static_cast<Delay*>(t->data);
    PhaseRun* run = d->run;
    close_delay(d);
    run->resume(decide(*run));
  }, *cf.delay, 0);
  run.on_cancel = [d] { close_delay(d); };
  return FilterStatus::wait;
}

const PhaseHooks hooks = [] {
  PhaseHooks h{};
  h[static_cast<size_t>(Phase::message)] = on_message;
  return h;
}();

std::unique_ptr<ModuleConf> create_conf() { return std::make_unique<TestFilterConf>(); }

std::string merge_conf(const ModuleConf& parent, ModuleConf& child) {
  auto& p = static_cast<const TestFilterConf&>(parent);
  auto& c = static_cast<TestFilterConf&>(child);
  merge(c.enabled, p.enabled, false);
  merge(c.delay, p.delay, 0);
  return {};
}

}  // namespace

Module testfilter_module{.name = "testfilter", .directives = testfilter_directives,
                         .create_srv_conf = create_conf, .merge_srv_conf = merge_conf, .hooks = &hooks};

}  // namespace gannet
