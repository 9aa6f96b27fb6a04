// Filter phases: the points of a session where filter modules (DKIM,
// rate-limit) look at what happens and continue, wait, or reject.
#pragma once

#include <array>
#include <cstddef>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace gannet::mail {
class MessageBuffer;
}

namespace gannet {

class Connection;
struct ServerConf;

enum class Phase { connect, helo, auth, mail_from, rcpt_to, message, delivery };
inline constexpr size_t kPhaseCount = 7;
std::string_view phase_name(Phase);

enum class FilterStatus {
  next,    // this filter is done; run the next one
  wait,    // the filter will call PhaseRun::resume() later (DNS, shared counter)
  reject,  // stop: reply with PhaseRun::reply
};

// What a filter sees of one phase of one session.
struct PhaseRun {
  Phase phase;
  Connection& conn;
  const ServerConf& server;
  std::string_view argument;          // HELO name, user, address: the phase's subject
  mail::MessageBuffer* message = nullptr;  // the message (message phase): its start, and header fields may be prepended
  std::string reply;                  // set on reject
  // Continues a chain that a filter stopped with `wait`.
  void resume(FilterStatus result);
  // A waiting filter sets this to drop its pending work if the session
  // goes away first (the client disconnected).
  std::function<void()> on_cancel;

  PhaseRun(Phase p, Connection& c, const ServerConf& s) : phase(p), conn(c), server(s) {}
  PhaseRun(const PhaseRun&) = delete;
  PhaseRun& operator=(const PhaseRun&) = delete;
  ~PhaseRun() { if (waiting && on_cancel) on_cancel(); }

  // Internal: where the chain is, and who hears the outcome.
  size_t next_module = 0;
  bool waiting = false;
  std::function<void(PhaseRun&, FilterStatus)> done;
};

using PhaseHook = FilterStatus (*)(PhaseRun&);
using PhaseHooks = std::array<PhaseHook, kPhaseCount>;

// Runs every filter module's hook for run.phase, in module order, then calls
// run.done once with next (all passed) or reject. Each hook may wait.
void run_phase(PhaseRun& run);

}  // namespace gannet
