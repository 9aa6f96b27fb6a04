// The delivery agent's pieces that need no store: where a domain's mail
// goes, the resolver check, DATA's framing, and the client's deadline.
#include <ares.h>
#include <uv.h>

#include <catch2/catch.hpp>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "../../modules/smtp/queue_runner.h"
#include "dns/resolver.h"
#include "../../modules/smtp/smtp_client.h"

using namespace gannet::smtp;
using namespace gannet::dns;
using Route = gannet::smtp::SmtpMainConf::Route;

TEST_CASE("dot_stuff: CRLF on every line, the last one too, dots doubled") {
  CHECK(dot_stuff("a\r\nb\r\n") == "a\r\nb\r\n.\r\n");
  CHECK(dot_stuff("a\nb\n") == "a\r\nb\r\n.\r\n");
  CHECK(dot_stuff("a\r\nlast") == "a\r\nlast\r\n.\r\n");
  CHECK(dot_stuff("a\nlast") == "a\r\nlast\r\n.\r\n");
  CHECK(dot_stuff(".x\n..y\r\n.") == "..x\r\n...y\r\n..\r\n.\r\n");
  CHECK(dot_stuff("\n.\n") == "\r\n..\r\n.\r\n");
  CHECK(dot_stuff("") == ".\r\n");
  CHECK(dot_stuff("a\rb\r\n") == "a\rb\r\n.\r\n");  // a bare CR is no line end
}

TEST_CASE("find_route: a domain's own route wins over the relay host, in any order") {
  std::vector<Route> relay_first{{"*", "relay", 25}, {"remote.test", "sink", 2525}};
  std::vector<Route> relay_last{{"remote.test", "sink", 2525}, {"*", "relay", 25}};
  for (auto* routes : {&relay_first, &relay_last}) {
    auto* r = find_route(*routes, "remote.test");
    REQUIRE(r);
    CHECK(r->host == "sink");
    r = find_route(*routes, "other.test");
    REQUIRE(r);
    CHECK(r->host == "relay");
  }
  std::vector<Route> no_relay{{"remote.test", "sink", 2525}};
  CHECK(find_route(no_relay, "other.test") == nullptr);
  CHECK(find_route(no_relay, "sub.remote.test") == nullptr);
  CHECK(find_route({}, "remote.test") == nullptr);
}

TEST_CASE("bad_server_entry: IP[:port], IPv6, [IPv6]:port, and nothing c-ares would refuse") {
  ares_library_init(ARES_LIB_INIT_ALL);
  ares_channel channel = nullptr;
  REQUIRE(ares_init(&channel) == ARES_SUCCESS);
  for (const char* good : {"127.0.0.1", "127.0.0.1:5353", "::1", "[::1]:53", "192.0.2.53,[2001:db8::53]:53",
                           "10.0.0.1:1,10.0.0.2:65535,2001:db8::1"}) {
    INFO(good);
    CHECK(bad_server_entry(good) == std::nullopt);
    CHECK(ares_set_servers_ports_csv(channel, good) == ARES_SUCCESS);
  }
  ares_destroy(channel);
  CHECK(bad_server_entry("localhost") == "localhost");
  CHECK(bad_server_entry("") == "");
  CHECK(bad_server_entry("127.0.0.1,") == "");
  CHECK(bad_server_entry(",127.0.0.1") == "");
  CHECK(bad_server_entry("127.0.0.1, 10.0.0.1") == " 10.0.0.1");
  CHECK(bad_server_entry("[::1]") == "[::1]");
  CHECK(bad_server_entry("[::1]:") == "[::1]:");
  CHECK(bad_server_entry("[127.0.0.1]:53") == "[127.0.0.1]:53");
  CHECK(bad_server_entry("127.0.0.1:") == "127.0.0.1:");
  CHECK(bad_server_entry("127.0.0.1:0") == "127.0.0.1:0");
  CHECK(bad_server_entry("127.0.0.1:99999") == "127.0.0.1:99999");
  CHECK(bad_server_entry("127.0.0.1:53x") == "127.0.0.1:53x");
  CHECK(bad_server_entry("1.2.3") == "1.2.3");
  CHECK(bad_server_entry("10.0.0.1,fe80::1%eth0") == "fe80::1%eth0");
}

namespace {

// Accepts connections and never says a word.
struct SilentServer {
  uv_tcp_t server;
  std::vector<uv_tcp_t*> conns;
  sockaddr_storage addr{};

  explicit SilentServer(uv_loop_t* loop) {
    uv_tcp_init(loop, &server);
    server.data = this;
    sockaddr_in a;
    uv_ip4_addr("127.0.0.1", 0, &a);
    REQUIRE(uv_tcp_bind(&server, reinterpret_cast<const sockaddr*>(&a), 0) == 0);
    REQUIRE(uv_listen(reinterpret_cast<uv_stream_t*>(&server), 8, on_connection) == 0);
    int len = sizeof addr;
    uv_tcp_getsockname(&server, reinterpret_cast<sockaddr*>(&addr), &len);
  }

  static void on_connection(uv_stream_t* s, int status) {
    if (status < 0) return;
    auto* self = static_cast<SilentServer*>(s->data);
    auto* c = new uv_tcp_t;
    uv_tcp_init(s->loop, c);
    uv_accept(s, reinterpret_cast<uv_stream_t*>(c));
    self->conns.push_back(c);
  }

  void close() {
    uv_close(reinterpret_cast<uv_handle_t*>(&server), nullptr);
    for (auto* c : conns) uv_close(reinterpret_cast<uv_handle_t*>(c), [](uv_handle_t* h) { delete reinterpret_cast<uv_tcp_t*>(h); });
  }
};

}  // namespace

TEST_CASE("SmtpClient: the attempt's deadline cuts a silent step short and skips the other addresses") {
  uv_loop_t loop;
  uv_loop_init(&loop);
  SilentServer first(&loop), second(&loop);
  ClientJob job;
  job.addresses = {first.addr, second.addr};
  job.helo = "client.test";
  job.sender = "a@example.test";
  job.recipients = {"b@remote.test"};
  job.message = std::make_shared<const std::string>("Subject: x\r\n\r\nhi\r\n");
  uint64_t start = uv_now(&loop);
  job.deadline = start + 300;
  std::optional<std::vector<ClientReply>> replies;
  uint64_t ended = 0;
  // A step may be silent for 10 s, the whole attempt only 300 ms.
  SmtpClient::start(&loop, std::move(job), [&](std::vector<ClientReply> r) {
    replies = std::move(r);
    ended = uv_now(&loop);
    first.close();
    second.close();
  }, 10'000);
  uv_timer_t guard;  // ends a test that would hang
  uv_timer_init(&loop, &guard);
  uv_timer_start(&guard, [](uv_timer_t* t) { uv_stop(t->loop); }, 8000, 0);
  uv_unref(reinterpret_cast<uv_handle_t*>(&guard));
  uv_run(&loop, UV_RUN_DEFAULT);
  uv_close(reinterpret_cast<uv_handle_t*>(&guard), nullptr);
  if (!replies) {
    first.close();
    second.close();
  }
  uv_run(&loop, UV_RUN_DEFAULT);
  CHECK(uv_loop_close(&loop) == 0);

  REQUIRE(replies);
  REQUIRE(replies->size() == 1);
  CHECK((*replies)[0].code == 0);  // no answer: deferred, not failed
  CHECK((*replies)[0].text.find("attempt time limit reached") != std::string::npos);
  CHECK(ended - start < 5000);
  CHECK(first.conns.size() == 1);
  CHECK(second.conns.empty());
}

TEST_CASE("order_mx: by preference, equal ones in random order") {
  std::set<std::string> firsts;
  for (unsigned seed = 0; seed < 50; seed++) {
    std::vector<MxHost> hosts{{"backup", 20}, {"a", 10}, {"b", 10}, {"c", 10}, {"last", 30}};
    std::mt19937 random(seed);
    order_mx(hosts, random);
    REQUIRE(hosts.size() == 5);
    for (int i = 0; i < 3; i++) REQUIRE(hosts[i].preference == 10);
    REQUIRE(hosts[3].host == "backup");
    REQUIRE(hosts[4].host == "last");
    firsts.insert(hosts[0].host);
  }
  REQUIRE(firsts == std::set<std::string>{"a", "b", "c"});  // each gets its turn
}
