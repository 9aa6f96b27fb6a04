#include "phase.h"

#include "connection.h"
#include "core_module.h"
#include "listen_addr.h"
#include "cycle.h"
#include "worker.h"

namespace gannet {

std::string_view phase_name(Phase p) {
  static constexpr std::string_view names[] = {"connect", "helo", "auth", "mail-from", "rcpt-to", "message", "delivery"};
  return names[static_cast<size_t>(p)];
}

namespace {

// The server's chain: what `filters` names, else every filter module.
std::span<const Module* const> chain(const PhaseRun& run) {
  const auto& named = run.server.conf<MailSrvConf>(mail_module).filters;
  if (named) return *named;
  return run.conn.worker().cycle().filter_modules();
}

void advance(PhaseRun& run) {
  auto filters = chain(run);
  while (run.next_filter < filters.size()) {
    const Module* m = filters[run.next_filter++];
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

// A header field's value: printable text (UTF-8 allowed, RFC 6532) on
// lines joined by CRLF and a space or tab.
bool valid_field_value(std::string_view v) {
  for (size_t i = 0; i < v.size(); i++) {
    unsigned char c = static_cast<unsigned char>(v[i]);
    if (c == '\r') {
      if (i + 2 >= v.size() || v[i + 1] != '\n' || (v[i + 2] != ' ' && v[i + 2] != '\t')) return false;
      i++;
    } else if ((c < 0x20 && c != '\t') || c == 0x7f) {
      return false;
    }
  }
  return true;
}

bool valid_field_name(std::string_view n) {
  if (n.empty()) return false;
  for (unsigned char c : n)
    if (c <= 0x20 || c >= 0x7f || c == ':') return false;
  return true;
}

}  // namespace

void Envelope::begin(const Connection& c) {
  *this = {};
  client = c.peer_address();
  client_ip = sockaddr_ip(client);
  tls = c.is_tls();
}

void run_phase(PhaseRun& run) {
  run.next_filter = 0;
  if (run.verdict.kind != Verdict::file_into) run.verdict = {};
  advance(run);
}

void PhaseRun::resume(FilterStatus result) {
  waiting = false;
  on_cancel = nullptr;
  if (result == FilterStatus::reject) done(*this, FilterStatus::reject);
  else advance(*this);
}

bool PhaseRun::add_header(std::string_view name, std::string_view value) {
  if (!valid_field_name(name) || !valid_field_value(value)) return false;
  headers_.append(name).append(": ").append(value).append("\r\n");
  return true;
}

std::unique_ptr<FilterCtx>& PhaseRun::ctx_slot(const Module& m) {
  size_t i = static_cast<size_t>(m.index);
  if (ctx_.size() <= i) ctx_.resize(i + 1);
  return ctx_[i];
}

}  // namespace gannet
