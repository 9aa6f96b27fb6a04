// SMTP's command grammar on arbitrary lines: parse_command, then the line
// and its argument as MAIL and RCPT arguments. Whatever is accepted must
// hold the grammar's promises, and what the server would write back
// (address()) must read as the same path again.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "../modules/smtp/smtp_parse.h"

using namespace gannet::smtp;

namespace {

void check(bool ok) {
  if (!ok) abort();
}

bool has_upper(std::string_view s) {
  for (char c : s)
    if (c >= 'A' && c <= 'Z') return true;
  return false;
}

bool has_control(std::string_view s) {
  for (unsigned char c : s)
    if (c < 32 || c == 127) return true;
  return false;
}

bool has_8bit(std::string_view s) {
  for (unsigned char c : s)
    if (c >= 0x80) return true;
  return false;
}

void check_path(const Path& p, bool reverse) {
  if (p.null) {
    check(reverse && p.local.empty() && p.domain.empty() && !p.utf8 && p.address().empty());
    return;
  }
  check(!p.local.empty() && p.local.size() <= kMaxLocalPart && p.domain.size() <= kMaxDomain);
  check(p.local.size() + p.domain.size() + 3 <= kMaxPath);
  check(!has_control(p.local) && !has_control(p.domain));
  check(valid_utf8(p.local) && valid_utf8(p.domain));
  check(p.utf8 == (has_8bit(p.local) || has_8bit(p.domain)));
  // Domains are lower-cased; only an IPv6 literal keeps its tag's capitals.
  check(!has_upper(p.domain) || p.domain.starts_with("[IPv6:"));
  if (p.domain.empty()) check(!reverse && p.local.size() == 10);  // <Postmaster>
  check(p.domain.find('@') == std::string::npos);
  if (p.local[0] != '"') check(p.local.find('@') == std::string::npos);

  Path again;
  std::string addr = "<" + p.address() + ">";
  bool ok;
  if (reverse) {
    MailParams m;
    ok = !parse_mail("FROM:" + addr, again, m);
  } else {
    RcptParams r;
    ok = !parse_rcpt("TO:" + addr, again, r);
  }
  check(ok && again.local == p.local && again.domain == p.domain && again.utf8 == p.utf8 && !again.null);
}

void check_error(const SyntaxError& e) {
  check(e.code == 501 || e.code == 555);
  check(e.text.size() > 6 && e.text[0] == '5' && e.text[1] == '.');
}

void check_arg(std::string_view arg) {
  Path path;
  MailParams mail;
  if (auto err = parse_mail(arg, path, mail)) {
    check_error(*err);
  } else {
    check_path(path, true);
    if (mail.size) {
      // SIZE's value writes back as it reads.
      Path p;
      MailParams m;
      check(!parse_mail("FROM:<> SIZE=" + std::to_string(*mail.size), p, m) && m.size == mail.size);
    }
    check(mail.ret.empty() || mail.ret == "FULL" || mail.ret == "HDRS");
    check(!mail.auth || !mail.auth->empty());
  }
  Path rpath;
  RcptParams rcpt;
  if (auto err = parse_rcpt(arg, rpath, rcpt)) {
    check_error(*err);
  } else {
    check_path(rpath, false);
    check(!has_control(rcpt.notify) && !has_control(rcpt.orcpt));
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > 4096) return -1;  // lines are at most 512 octets; more only slows the search
  std::string_view line(reinterpret_cast<const char*>(data), size);
  Command cmd = parse_command(line);
  // The argument is the tail of the line after the verb and one space.
  check(cmd.arg.size() <= line.size());
  check(cmd.arg.empty() || cmd.arg.data() + cmd.arg.size() == line.data() + line.size());
  size_t word = line.substr(0, line.find(' ')).size();
  if (cmd.verb != Verb::unknown) check(word == 4 || word == 8);  // "MAIL"... or "STARTTLS"
  check_arg(line);
  if (cmd.arg.size() != line.size()) check_arg(cmd.arg);
  return 0;
}
