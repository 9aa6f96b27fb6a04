// The config language end to end: files in a temp dir through load_cycle,
// errors with their FILE:LINE, includes, quoting, inheritance and units.
#include <catch2/catch.hpp>
#include <optional>
#include <string>
#include <vector>

#include "core_module.h"
#include "cycle.h"
#include "test_util.h"

using namespace gannet;
using Strings = std::vector<std::string>;

namespace {

// A prefix dir holding gannet.conf and whatever else a test writes there.
struct ConfDir : TempDir {
  std::string main_file() const { return path + "/gannet.conf"; }

  std::unique_ptr<Cycle> load(const std::string& text) const {
    write("gannet.conf", text);
    return load_cycle(main_file(), path);
  }

  std::optional<ConfError> error(const std::string& text) const {
    try {
      load(text);
    } catch (const ConfError& e) {
      return e;
    }
    return std::nullopt;
  }

  // Loading TEXT must fail with exactly MSG at FILE:LINE (FILE relative to the dir).
  void require_error(const std::string& text, const std::string& msg, int line,
                     const std::string& file = "gannet.conf") const {
    INFO("config:\n" << text);
    auto e = error(text);
    REQUIRE(e);
    CHECK(std::string(e->what()) == msg);
    CHECK(e->file == path + "/" + file);
    CHECK(e->line == line);
  }
};

// The where() of the ConfError that LOAD throws; empty if it loads.
template <class F>
std::string error_where(F&& load) {
  try {
    load();
  } catch (const ConfError& e) {
    return e.where();
  }
  return {};
}

const MailSrvConf& srv_conf(const Cycle& c, size_t i) { return c.servers.at(i)->conf<MailSrvConf>(mail_module); }

// The smallest server block that loads, for tests about something else.
const std::string kServer = "server { listen 127.0.0.1:2525; protocol echo; }";

}  // namespace

// --- the reference example ---

namespace {

const char* const kExample = R"(worker_processes auto;
error_log logs/error.log info;
mail {
    ssl_certificate a.pem;
    ssl_certificate_key a.key;
    server {
        listen 127.0.0.1:2525;
        listen [::1]:2525;
        protocol PROTO;
    }
    server {
        listen 127.0.0.1:9993 ssl;
        protocol PROTO;
    }
}
)";

std::string example(const std::string& proto) {
  std::string s = kExample;
  for (size_t at; (at = s.find("PROTO")) != std::string::npos;) s.replace(at, 5, proto);
  return s;
}

}  // namespace

TEST_CASE("the reference example loads, with echo standing in for smtp/imap") {
  ConfDir dir;
  write_self_signed(dir.path, "a", "localhost");
  auto c = dir.load(example("echo"));

  auto& core = c->main_conf<CoreConf>(core_module);
  CHECK(*core.worker_processes == 0);  // auto
  CHECK(*core.error_log == dir.path + "/logs/error.log");
  CHECK(*core.error_level == Level::info);

  REQUIRE(c->servers.size() == 2);
  REQUIRE(c->listens.size() == 3);
  CHECK(c->listens[0].text == "127.0.0.1:2525");
  CHECK(c->listens[1].text == "[::1]:2525");
  CHECK(c->listens[2].text == "127.0.0.1:9993");
  CHECK((c->listens[0].server == 0 && c->listens[1].server == 0 && c->listens[2].server == 1));
  CHECK((!c->listens[0].ssl && !c->listens[1].ssl && c->listens[2].ssl));
  CHECK(c->listens[1].file == dir.main_file());
  CHECK(c->listens[1].line == 8);
  for (size_t i = 0; i < 2; i++) {
    CHECK(c->servers[i]->protocol->name == "echo");
    CHECK(c->servers[i]->tls != nullptr);  // certificate inherited from mail
    CHECK(*srv_conf(*c, i).ssl_certificate == Strings{dir.path + "/a.pem"});
    CHECK(*srv_conf(*c, i).ssl_certificate_key == Strings{dir.path + "/a.key"});
  }
}

TEST_CASE("the reference example loads with protocol smtp and imap; an unknown protocol is an error") {
  ConfDir dir;
  write_self_signed(dir.path, "a", "localhost");
  for (const char* proto : {"smtp", "imap"}) {
    auto c = dir.load(example(proto));
    REQUIRE(c->servers.size() == 2);
    CHECK(c->servers[0]->protocol->name == proto);
  }
  // Reported at the server block that names it.
  dir.require_error(example("nntp"), "unknown protocol \"nntp\"", 6);
}

TEST_CASE("load_cycle_from_string parses like a file, NAME in errors") {
  ConfDir dir;
  auto c = load_cycle_from_string("mem.conf", "mail { " + kServer + " }", dir.path);
  REQUIRE(c->servers.size() == 1);
  CHECK(c->conf_file == "mem.conf");
  CHECK(error_where([&] { load_cycle_from_string("mem.conf", "\nbogus;", dir.path); }) ==
        "unknown directive \"bogus\" in mem.conf:2");
}

TEST_CASE("a missing main file is an error without FILE:LINE") {
  ConfDir dir;
  CHECK(error_where([&] { load_cycle(dir.path + "/none.conf", dir.path); }) ==
        "open() \"" + dir.path + "/none.conf\" failed (No such file or directory)");
}

// --- errors, each with its FILE:LINE ---

TEST_CASE("unknown directive") {
  ConfDir dir;
  dir.require_error("worker_processes 2;\nbogus on;\n", "unknown directive \"bogus\"", 2);
  dir.require_error("mail {\n  server {\n    lisen 127.0.0.1:1;\n  }\n}\n", "unknown directive \"lisen\"", 3);
}

TEST_CASE("directive not allowed here") {
  ConfDir dir;
  dir.require_error("\nlisten 127.0.0.1:1;\n", "\"listen\" directive is not allowed here", 2);
  dir.require_error("mail {\n  worker_processes 2;\n}\n", "\"worker_processes\" directive is not allowed here", 2);
  dir.require_error("mail {\n  protocol echo;\n}\n", "\"protocol\" directive is not allowed here", 2);
  dir.require_error("timeout 5s;\n", "\"timeout\" directive is not allowed here", 1);
  dir.require_error("mail {\n  server {\n    server {\n", "\"server\" directive is not allowed here", 3);
  dir.require_error("events {\n  mail {\n  }\n}\n", "\"mail\" directive is not allowed here", 2);
}

TEST_CASE("invalid number of arguments") {
  ConfDir dir;
  dir.require_error("worker_processes;\n", "invalid number of arguments in \"worker_processes\" directive", 1);
  dir.require_error("\nerror_log a b c;\n", "invalid number of arguments in \"error_log\" directive", 2);
  dir.require_error("mail {\n  server {\n    listen 127.0.0.1:1 ssl a b;\n", "invalid number of arguments in \"listen\" directive", 3);
  dir.require_error("mail {\n  ssl_protocols;\n}\n", "invalid number of arguments in \"ssl_protocols\" directive", 2);
  dir.require_error("mail extra {\n}\n", "invalid number of arguments in \"mail\" directive", 1);
  dir.require_error("include a b;\n", "invalid number of arguments in \"include\" directive", 1);
}

TEST_CASE("bad values: size, time, flag, number, enum, address") {
  ConfDir dir;
  auto in_mail = [](const std::string& d) { return "mail {\n  " + d + "\n}\n"; };
  dir.require_error(in_mail("send_buffer_limit 10x;"), "invalid value \"10x\" in \"send_buffer_limit\" directive", 2);
  dir.require_error(in_mail("timeout 5y;"), "invalid value \"5y\" in \"timeout\" directive", 2);
  dir.require_error(in_mail("timeout 0;"), "invalid value \"0\" in \"timeout\" directive", 2);
  dir.require_error(in_mail("ssl_session_tickets yes;"),
                    "invalid value \"yes\" in \"ssl_session_tickets\" directive, it must be \"on\" or \"off\"", 2);
  dir.require_error(in_mail("testfilter maybe;"),
                    "invalid value \"maybe\" in \"testfilter\" directive, it must be \"on\" or \"off\"", 2);
  dir.require_error(in_mail("testfilter_delay 10q;"), "invalid value \"10q\" in \"testfilter_delay\" directive", 2);
  dir.require_error(in_mail("ssl_protocols TLSv1.2 SSLv3;"),
                    "invalid value \"SSLv3\" in \"ssl_protocols\" directive, it must be \"TLSv1.2\" or \"TLSv1.3\"", 2);
  dir.require_error("events {\n  worker_connections many;\n}\n", "invalid value \"many\" in \"worker_connections\" directive", 2);
  dir.require_error("events {\n  worker_connections 0;\n}\n", "invalid value \"0\" in \"worker_connections\" directive", 2);
  dir.require_error("worker_processes 1025;\n", "invalid value \"1025\" in \"worker_processes\" directive", 1);
  dir.require_error("worker_processes -1;\n", "invalid value \"-1\" in \"worker_processes\" directive", 1);
  dir.require_error("error_log a.log loud;\n", "invalid value \"loud\" in \"error_log\" directive", 1);
  dir.require_error("mail {\n  server {\n    listen nowhere;\n", "invalid address \"nowhere\" in \"listen\" directive", 3);
  dir.require_error("mail {\n  server {\n    listen 127.0.0.1:70000;\n", "invalid address \"127.0.0.1:70000\" in \"listen\" directive", 3);
  dir.require_error("mail {\n  server {\n    listen 127.0.0.1:1 tls;\n", "invalid parameter \"tls\" in \"listen\" directive", 3);
}

TEST_CASE("the delivery agent's values are checked when the config is read") {
  ConfDir dir;
  // 0 would be libuv's "no repeat": a worker that looks at the queue once.
  dir.require_error("\nsmtp_queue_interval 0;\n",
                    "invalid value \"0\" in \"smtp_queue_interval\" directive, it must be at least 100ms", 2);
  dir.require_error("smtp_queue_interval 99ms;\n",
                    "invalid value \"99ms\" in \"smtp_queue_interval\" directive, it must be at least 100ms", 1);
  // Else c-ares refuses it when each worker starts, and no worker runs.
  dir.require_error("worker_processes 1;\nresolver 127.0.0.1:53,dns.example;\n",
                    "invalid value \"127.0.0.1:53,dns.example\" in \"resolver\" directive: \"dns.example\" is not IP, "
                    "IP:port, IPv6 or [IPv6]:port", 2);
  dir.require_error("resolver [::1];\n",
                    "invalid value \"[::1]\" in \"resolver\" directive: \"[::1]\" is not IP, IP:port, IPv6 or [IPv6]:port", 1);
  CHECK(dir.load("smtp_queue_interval 100ms;\nresolver 127.0.0.1:5353,[::1]:53,::1;\n"));
}

TEST_CASE("duplicate directive") {
  ConfDir dir;
  dir.require_error("worker_processes 1;\nworker_processes 2;\n", "\"worker_processes\" directive is duplicate", 2);
  dir.require_error("mail {\n  timeout 1s;\n  timeout 2s;\n}\n", "\"timeout\" directive is duplicate", 3);
  dir.require_error("mail {\n}\nmail {\n}\n", "\"mail\" directive is duplicate", 3);
  dir.require_error("events {\n}\nevents {\n}\n", "\"events\" directive is duplicate", 3);
  dir.require_error("mail {\n  server {\n    protocol echo;\n    protocol echo;\n", "\"protocol\" directive is duplicate", 4);
}

TEST_CASE("duplicate listen reports the second one, and where the first was") {
  ConfDir dir;
  std::string first = dir.main_file() + ":3";
  dir.require_error("mail {\n  server {\n    listen 127.0.0.1:2525;\n    protocol echo;\n  }\n"
                    "  server {\n    listen 127.0.0.1:2525 ssl;\n",
                    "duplicate listen 127.0.0.1:2525 (first at " + first + ")", 7);
  // Addresses are compared normalised.
  dir.require_error("mail {\n  server {\n    listen [::1]:2525;\n    listen [0:0::1]:2525;\n",
                    "duplicate listen [::1]:2525 (first at " + first + ")", 4);
}

TEST_CASE("syntax: missing ';', stray braces, unexpected EOF, quotes") {
  ConfDir dir;
  dir.require_error("worker_processes 1\nmail {\n}\n", "directive \"worker_processes\" is not terminated by \";\"", 1);
  dir.require_error("mail {\n  server_name x\n}\n", "unexpected \"}\"", 3);
  dir.require_error("worker_processes 1;\n}\n", "unexpected \"}\"", 2);
  dir.require_error("mail {\n  ;\n}\n", "unexpected \";\"", 2);
  dir.require_error("mail {\n  {\n}\n", "unexpected \"{\"", 2);
  dir.require_error("mail;\n", "directive \"mail\" has no opening \"{\"", 1);
  dir.require_error("include x.conf {\n}\n", "directive \"include\" is not terminated by \";\"", 1);
  dir.require_error("mail {\n  server {\n    listen 127.0.0.1:1;\n", "unexpected end of file, expecting \"}\"", 4);
  dir.require_error("\nworker_processes 1", "unexpected end of file, expecting \";\" or \"}\"", 2);
  dir.require_error("mail {\n  server_name \"abc\n\ndef;\n}\n", "unexpected end of file, unterminated quoted string", 2);
  dir.require_error("\nerror_log 'x.log;\n", "unexpected end of file, unterminated quoted string", 2);
  dir.require_error("mail {\n  server_name \"a\"b;\n}\n", "unexpected \"b\"", 2);
}

TEST_CASE("a NUL byte is an ordinary character, not an endless empty word") {
  ConfDir dir;
  auto e = dir.error(std::string("worker_processes 1;\nx\0y;\n", 25));
  REQUIRE(e);
  CHECK(std::string(e->what(), 20) == "unknown directive \"x");
  CHECK(e->line == 2);
  e = dir.error(std::string("error_log \"a\"\0;\n", 16));
  REQUIRE(e);
  CHECK(e->line == 1);
}

TEST_CASE("line numbers count newlines inside quotes and escapes") {
  ConfDir dir;
  dir.require_error("mail {\n  server_name \"multi\nline\";\n  echo_banner a\\\nb;\n  bogus;\n}\n", "unknown directive \"bogus\"", 6);
}

TEST_CASE("server checks after merging: TLS, protocol, listen, key pairs") {
  ConfDir dir;
  dir.require_error("mail {\n  server {\n    listen 127.0.0.1:1 ssl;\n    protocol echo;\n  }\n}\n",
                    "no \"ssl_certificate\" is defined for the ssl listener", 2);
  dir.require_error("mail {\n  server {\n    listen 127.0.0.1:1;\n  }\n}\n", "no \"protocol\" is defined for the server", 2);
  dir.require_error("mail {\n\n  server {\n    protocol echo;\n  }\n}\n", "no \"listen\" is defined for the server", 3);
  dir.require_error("mail {\n  ssl_certificate a.pem;\n  server {\n    listen 127.0.0.1:1;\n    protocol echo;\n  }\n}\n",
                    "every \"ssl_certificate\" needs its \"ssl_certificate_key\"", 3);
  // A certificate that cannot be read fails at load, at the server using it.
  auto e = dir.error("mail {\n  ssl_certificate no.pem;\n  ssl_certificate_key no.key;\n  server {\n"
                     "    listen 127.0.0.1:1;\n    protocol echo;\n  }\n}\n");
  REQUIRE(e);
  CHECK(e->line == 4);
}

TEST_CASE("load_module must come before mail") {
  ConfDir dir;
  dir.require_error("mail {\n}\nload_module x.so;\n", "\"load_module\" directive must come before the \"mail\" block", 3);
}

// --- include ---

TEST_CASE("include: an error in an included file names that file and line") {
  ConfDir dir;
  dir.write("inc/bad.conf", "# comment\n\nbogus;\n");
  dir.require_error("worker_processes 1;\ninclude inc/bad.conf;\n", "unknown directive \"bogus\"", 3, "inc/bad.conf");
  // Directives keep the context of the include; an included file is not a block.
  dir.write("inc/main_only.conf", "server_name x;\nworker_processes 2;\n");
  dir.require_error("mail {\n  include inc/main_only.conf;\n}\n", "\"worker_processes\" directive is not allowed here", 2,
                    "inc/main_only.conf");
  dir.write("inc/brace.conf", "server_name x;\n}\n");
  dir.require_error("mail {\n  include inc/brace.conf;\n}\n", "unexpected \"}\"", 2, "inc/brace.conf");
}

TEST_CASE("include: a glob includes every match, sorted") {
  ConfDir dir;
  dir.write("conf.d/b.conf", "server { listen 127.0.0.1:2; protocol echo; server_name b; }\n");
  dir.write("conf.d/a.conf", "server { listen 127.0.0.1:1; protocol echo; server_name a; }\n");
  dir.write("conf.d/c.txt", "bogus;\n");
  auto c = dir.load("mail {\n  include conf.d/*.conf;\n}\n");
  REQUIRE(c->servers.size() == 2);
  CHECK(*srv_conf(*c, 0).server_name == "a");
  CHECK(*srv_conf(*c, 1).server_name == "b");
  CHECK(c->servers[1]->file == dir.path + "/conf.d/b.conf");
  CHECK(c->servers[1]->line == 1);
}

TEST_CASE("include: missing file, empty glob, nesting, absolute path") {
  ConfDir dir;
  dir.require_error("\ninclude nothere.conf;\n",
                    "open() \"" + dir.path + "/nothere.conf\" failed (No such file or directory)", 2);
  CHECK(dir.load("include none/*.conf;\nmail { " + kServer + " }\n")->servers.size() == 1);

  dir.write("self.conf", "include self.conf;\n");
  dir.require_error("include self.conf;\n", "include nesting is too deep", 1, "self.conf");

  std::string abs = dir.write("elsewhere/srv.conf", kServer);
  CHECK(dir.load("mail {\n  include " + abs + ";\n}\n")->servers.size() == 1);
}

TEST_CASE("include: a directory or an endless file is an error, not an empty file") {
  ConfDir dir;
  dir.write("conf.d/sub/x.conf", "");
  dir.require_error("\ninclude conf.d/*;\n", "read() \"" + dir.path + "/conf.d/sub\" failed (Is a directory)", 2);
  dir.require_error("include /dev/zero;\n", "\"/dev/zero\" is too large", 1);
  CHECK(error_where([&] { load_cycle(dir.path, dir.path); }) == "read() \"" + dir.path + "\" failed (Is a directory)");  // main file
}

// --- quoting ---

TEST_CASE("quoted strings and escapes") {
  ConfDir dir;
  auto name_of = [&](const std::string& arg) {
    auto c = dir.load("mail {\n  server_name " + arg + ";\n  echo_banner \"a \\\"b\\\" c\";\n  " + kServer + "\n}\n");
    return *srv_conf(*c, 0).server_name;
  };
  CHECK(name_of(R"("a \"b\" c")") == R"(a "b" c)");
  CHECK(name_of(R"('it\'s "x"')") == R"(it's "x")");
  CHECK(name_of(R"("tab\there\nnl\\")") == "tab\there\nnl\\");
  CHECK(name_of(R"("a;b{c}#d")") == "a;b{c}#d");
  CHECK(name_of(R"(a\ b\;c)") == "a b;c");
  CHECK(name_of(R"(x # a comment "unterminated)" "\n") == "x");
  CHECK(name_of(R"("")").empty());
}

// --- inheritance and defaults ---

TEST_CASE("servers inherit from mail, override it, and get defaults") {
  ConfDir dir;
  auto c = dir.load(R"(mail {
    timeout 30s;
    server_name mail.example;
    ssl_protocols TLSv1.3;
    session_log logs/session.log;
    server { listen 127.0.0.1:1; protocol echo; }
    server {
        listen 127.0.0.1:2; protocol echo;
        timeout 5m;
        server_name other.example;
        ssl_protocols TLSv1.2 TLSv1.3;
        session_log /var/log/other.log;
        command_timeout 10s;
        send_buffer_limit 1m;
        ssl_session_tickets off;
    }
}
)");
  REQUIRE(c->servers.size() == 2);
  auto& a = srv_conf(*c, 0);
  CHECK(*a.timeout == 30'000);
  CHECK(*a.server_name == "mail.example");
  CHECK(*a.ssl_protocols == Strings{"TLSv1.3"});
  CHECK(*a.session_log == dir.path + "/logs/session.log");
  CHECK(c->servers[0]->session_log->path() == dir.path + "/logs/session.log");
  CHECK(*a.command_timeout == 60'000);  // default
  CHECK(*a.max_output == 256u << 10);
  CHECK(*a.ssl_session_tickets);

  auto& b = srv_conf(*c, 1);
  CHECK(*b.timeout == 300'000);
  CHECK(*b.server_name == "other.example");
  CHECK(*b.ssl_protocols == Strings{"TLSv1.2", "TLSv1.3"});
  CHECK(*b.session_log == "/var/log/other.log");
  CHECK(*b.command_timeout == 10'000);
  CHECK(*b.max_output == 1u << 20);
  CHECK_FALSE(*b.ssl_session_tickets);
}

TEST_CASE("defaults when nothing is set") {
  ConfDir dir;
  auto c = dir.load("mail { " + kServer + " }\n");
  auto& s = srv_conf(*c, 0);
  CHECK(*s.timeout == 300'000);
  CHECK(*s.command_timeout == 60'000);
  CHECK(*s.server_name == "localhost");
  CHECK(*s.ssl_protocols == Strings{"TLSv1.2", "TLSv1.3"});
  CHECK(*s.ssl_session_timeout == 300'000);
  CHECK(*s.ssl_session_tickets);
  CHECK_FALSE(s.session_log);
  CHECK_FALSE(s.ssl_certificate);
  CHECK(c->servers[0]->session_log == nullptr);
  CHECK(c->servers[0]->tls == nullptr);

  auto& core = c->main_conf<CoreConf>(core_module);
  CHECK(*core.worker_processes == 1);
  CHECK(*core.pid == dir.path + "/gannet.pid");
  CHECK(*core.error_log == dir.path + "/logs/error.log");
  CHECK(*core.error_level == Level::error);
  CHECK(*core.worker_shutdown_timeout == 60'000);
  CHECK(*c->main_conf<EventsConf>(events_module).worker_connections == 100'000);
}

TEST_CASE("the events block writes the events module's conf") {
  ConfDir dir;
  auto c = dir.load("events {\n  worker_connections 512;\n}\n");
  auto& ev = c->main_conf<EventsConf>(events_module);
  CHECK(*ev.worker_connections == 512);
  CHECK(ev.seen);
}

TEST_CASE("a server's own certificate replaces the inherited one") {
  ConfDir dir;
  write_self_signed(dir.path, "a", "a.example");
  write_self_signed(dir.path, "b", "b.example");
  auto c = dir.load(R"(mail {
    ssl_certificate a.pem; ssl_certificate_key a.key;
    server { listen 127.0.0.1:1 ssl; protocol echo; }
    server { listen 127.0.0.1:2 ssl; protocol echo; ssl_certificate b.pem; ssl_certificate_key b.key; }
}
)");
  CHECK(*srv_conf(*c, 0).ssl_certificate == Strings{dir.path + "/a.pem"});
  CHECK(*srv_conf(*c, 1).ssl_certificate == Strings{dir.path + "/b.pem"});
  CHECK(*srv_conf(*c, 1).ssl_certificate_key == Strings{dir.path + "/b.key"});
  CHECK(c->servers[0]->tls != c->servers[1]->tls);
}

TEST_CASE("session logs are shared per path across the cycle") {
  ConfDir dir;
  auto c = dir.load("mail {\n  session_log s.log;\n  server { listen 127.0.0.1:1; protocol echo; }\n"
                    "  server { listen 127.0.0.1:2; protocol echo; }\n}\n");
  REQUIRE(c->servers[0]->session_log != nullptr);
  CHECK(c->servers[0]->session_log == c->servers[1]->session_log);
}

// --- paths ---

TEST_CASE("relative paths resolve against the prefix, not the config's dir") {
  ConfDir dir;
  dir.write("etc/extra.conf", "pid run/g.pid;\n");
  std::string conf = dir.write("etc/gannet.conf", "include etc/extra.conf;\nerror_log stderr;\n");
  auto c = load_cycle(conf, dir.path);
  auto& core = c->main_conf<CoreConf>(core_module);
  CHECK(*core.pid == dir.path + "/run/g.pid");
  CHECK(*core.error_log == "stderr");
  CHECK(*dir.load("pid /run/abs.pid;\n")->main_conf<CoreConf>(core_module).pid == "/run/abs.pid");
}

// --- value parsers ---

TEST_CASE("parse_size") {
  CHECK(parse_size("512") == 512u);
  CHECK(parse_size("512k") == 524'288u);
  CHECK(parse_size("512K") == 524'288u);
  CHECK(parse_size("10m") == 10u << 20);
  CHECK(parse_size("10M") == 10u << 20);
  CHECK(parse_size("1g") == 1ull << 30);
  CHECK(parse_size("0") == 0u);
  for (const char* bad : {"10x", "", "k", "-1", "1.5k", "10kb", " 1k", "1 k", "999999999999999g", "1000000000000000"})
    CHECK_FALSE(parse_size(bad));
}

TEST_CASE("parse_msec") {
  CHECK(parse_msec("30s") == 30'000u);
  CHECK(parse_msec("5m") == 300'000u);
  CHECK(parse_msec("1h") == 3'600'000u);
  CHECK(parse_msec("500ms") == 500u);
  CHECK(parse_msec("2d") == 172'800'000u);
  CHECK(parse_msec("7") == 7'000u);  // a bare number is seconds
  CHECK(parse_msec("999999999999999ms") == 999'999'999'999'999u);
  for (const char* bad : {"5y", "", "ms", "1.5s", "5 s", "-1s", "5S", "999999999999999d", "1000000000000000ms"})
    CHECK_FALSE(parse_msec(bad));
}

TEST_CASE("parse_flag and parse_number") {
  CHECK(parse_flag("on") == true);
  CHECK(parse_flag("off") == false);
  CHECK_FALSE(parse_flag("ON"));
  CHECK_FALSE(parse_flag(""));
  CHECK(parse_number("42") == 42);
  CHECK(parse_number("-3") == -3);
  for (const char* bad : {"", "4x", "x4", "+4", " 4", "99999999999999999999"})
    CHECK_FALSE(parse_number(bad));
}
