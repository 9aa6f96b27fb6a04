// Filter phases: the points of a session where filter modules (DKIM,
// rate-limit) look at what happens and continue, wait, or reject.
#pragma once

#include <sys/socket.h>

#include <array>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace gannet::mail {
class MessageBuffer;
}

namespace gannet {

class Connection;
struct Module;
struct ServerConf;

enum class Phase { connect, helo, auth, mail_from, rcpt_to, message, delivery };
inline constexpr size_t kPhaseCount = 7;
std::string_view phase_name(Phase);

enum class FilterStatus {
  next,    // this filter is done; run the next one
  wait,    // the filter will call PhaseRun::resume() later (DNS, shared counter)
  reject,  // stop: PhaseRun::verdict says how (reject or tempfail)
};

// What a filter may read of a session and its transaction, at every phase:
// the protocol keeps it current, filters never write it.
struct Envelope {
  sockaddr_storage client{};  // the peer's address (port included)
  std::string client_ip;      // the same, as text: "192.0.2.1", "2001:db8::1"
  bool tls = false;
  std::string helo;           // as the client gave it; "" before HELO/EHLO
  std::string user;           // authenticated as; "" if not
  std::string mail_from;      // the reverse-path; "" for <> (a bounce)
  std::vector<std::string> rcpts;  // accepted so far

  // client, client_ip and tls from the connection; the rest is cleared.
  void begin(const Connection& c);
  void new_transaction() { mail_from.clear(); rcpts.clear(); }
};

// A filter's decision, which each protocol words in its own reply (SMTP:
// a code and an enhanced status code).
struct Verdict {
  enum Kind {
    accept,     // go on
    tempfail,   // try again later (SMTP 451 4.7.1)
    reject,     // refused for good (SMTP 550 5.7.1)
    file_into,  // accept, but store into `mailbox` rather than INBOX (Junk)
  } kind = accept;
  std::string text;     // for the client, one line: "DMARC policy of example.com says reject"
  std::string status;   // an RFC 3463 code, "5.7.26"; "" for the protocol's default
  std::string mailbox;  // file_into

  static Verdict refuse(std::string text, std::string status = "") { return {reject, std::move(text), std::move(status), {}}; }
  static Verdict later(std::string text, std::string status = "") { return {tempfail, std::move(text), std::move(status), {}}; }
  static Verdict file(std::string mailbox) { return {file_into, {}, {}, std::move(mailbox)}; }
};

// A filter's own state in one session (per-session counters, a digest
// being computed): made on first use, freed with the session.
struct FilterCtx {
  virtual ~FilterCtx() = default;
};

// What a filter sees of one phase of one session.
struct PhaseRun {
  Phase phase;
  Connection& conn;
  const ServerConf& server;
  const Envelope& envelope;
  std::string_view argument;               // HELO name, user, address: the phase's subject
  // The message phase: read it, never write it; a filter that reads it off
  // the loop keeps a copy of the pointer until its work is done.
  std::shared_ptr<const mail::MessageBuffer> message;
  Verdict verdict;                         // reject: why; message phase: file_into sticks
  // Continues a chain that a filter stopped with `wait`.
  void resume(FilterStatus result);
  // A waiting filter sets this to drop its pending work if the session
  // goes away first (the client disconnected).
  std::function<void()> on_cancel;

  // Message phase: a header field the protocol puts on top of the message
  // before it is stored, in the order added. A value may be folded (CRLF
  // and a space or tab); anything else that is not one printable line is
  // refused (false).
  bool add_header(std::string_view name, std::string_view value);
  const std::string& added_headers() const { return headers_; }

  // This module's state for the session, made on first use.
  template <class T>
  T& ctx(const Module& m);

  PhaseRun(Phase p, Connection& c, const ServerConf& s, const Envelope& e) : phase(p), conn(c), server(s), envelope(e) {}
  PhaseRun(const PhaseRun&) = delete;
  PhaseRun& operator=(const PhaseRun&) = delete;
  ~PhaseRun() { if (waiting && on_cancel) on_cancel(); }

  // Internal: where the chain is, and who hears the outcome.
  size_t next_filter = 0;
  bool waiting = false;
  std::function<void(PhaseRun&, FilterStatus)> done;
  // Internal: a new transaction drops what filters added to the last one.
  void new_transaction() {
    headers_.clear();
    verdict = {};
    message.reset();
  }

 private:
  std::unique_ptr<FilterCtx>& ctx_slot(const Module& m);
  std::string headers_;
  std::vector<std::unique_ptr<FilterCtx>> ctx_;  // by module index
};

template <class T>
T& PhaseRun::ctx(const Module& m) {
  std::unique_ptr<FilterCtx>& slot = ctx_slot(m);
  if (!slot) slot = std::make_unique<T>();
  return static_cast<T&>(*slot);
}

using PhaseHook = FilterStatus (*)(PhaseRun&);
using PhaseHooks = std::array<PhaseHook, kPhaseCount>;

// Runs the server's filters' hooks for run.phase, in the order `filters`
// names them (else module order), then calls run.done once with next (all
// passed) or reject. Each hook may wait.
void run_phase(PhaseRun& run);

}  // namespace gannet
