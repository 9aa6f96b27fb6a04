#include "phase.h"

#include "connection.h"
#include "cycle.h"
#include "worker.h"

namespace gannet {

std::string_view phase_name(Phase p) {
  static constexpr std::string_view names[] = {"connect", "helo", "auth", "mail-from", "rcpt-to", "message", "delivery"};
  return names[static_cast<size_t>(p)];
}

static void advance(PhaseRun& run) {
  const auto& modules = run.conn.worker().cycle().modules;
  while (run.next_module < modules.size()) {
    const Module* m = modules[run.next_module++];
    if (!m->hooks) continue;
    PhaseHook hook = (*m->hooks)[static_cast<size_t>(run.phase)];
    if (!hook) continue;
    FilterStatus st = hook(run);
    if (st == FilterStatus::wait) {  // the filter calls resume()
      run.waiting = true;
      return;
    }
    if (st == FilterStatus::reject) {
      run.done(run, FilterStatus::reject);
      return;
    }
  }
  run.done(run, FilterStatus::next);
}

void run_phase(PhaseRun& run) {
  run.next_module = 0;
  run.reply.clear();
  advance(run);
}

void PhaseRun::resume(FilterStatus result) {
  waiting = false;
  on_cancel = nullptr;
  if (result == FilterStatus::reject) done(*this, FilterStatus::reject);
  else advance(*this);
}

}  // namespace gannet
