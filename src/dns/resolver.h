// Asynchronous DNS, one a worker (dns_module.h): c-ares driven by the
// worker's libuv loop (its sockets polled by uv_poll, its timeouts by a
// uv_timer), so a lookup never blocks the loop.
#pragma once

#include <ares.h>
#include <sys/socket.h>
#include <uv.h>

#include <deque>
#include <functional>
#include <map>
#include <set>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace gannet::dns {

struct MxHost {
  std::string host;
  int preference = 0;
};

// Lowest preference first, hosts of equal preference in random order
// (RFC 5321 5.1), so that senders spread over them.
void order_mx(std::vector<MxHost>& hosts, std::mt19937& random);

// Checks a `resolver` list when the config is read, so that a bad one
// fails `gannet -t` and a reload instead of every worker's start. Stricter
// than c-ares (which takes "1.2.3" and port 99999): comma-separated
// entries, each an IPv4 address with an optional ":port", an IPv6 address
// alone, or "[IPv6]:port"; ports 1-65535. Empty when valid, else the first
// bad entry.
std::optional<std::string> bad_server_entry(std::string_view servers);

class Resolver {
 public:
  // servers: "" for /etc/resolv.conf, else c-ares' "host:port,host:port".
  Resolver(uv_loop_t* loop, const std::string& servers, std::string& err);
  ~Resolver();
  Resolver(const Resolver&) = delete;
  Resolver& operator=(const Resolver&) = delete;

  enum class Result { ok, no_such_domain, no_data, temporary };
  // MX records sorted by preference. A domain without MX gets no_data: the
  // caller falls back to the domain itself (RFC 5321 5.1).
  void mx(const std::string& domain, std::function<void(Result, std::vector<MxHost>)> done);
  // The TXT records of name, each record's strings joined (RFC 6376 3.6.2.2).
  void txt(const std::string& name, std::function<void(Result, std::vector<std::string>)> done);
  // A and AAAA addresses of host, with `port` set.
  void addresses(const std::string& host, uint16_t port, std::function<void(Result, std::vector<sockaddr_storage>)> done);

  // Answers kept, and the ones that came from there (for tests and logs).
  size_t cached() const { return cache_.size(); }
  uint64_t cache_hits() const { return hits_; }

  // A query's outcome: c-ares' status and the response as it came.
  using Raw = std::function<void(int status, const unsigned char* answer, int len)>;

 private:
  // mx and txt go through here: an answer still in the cache is given
  // (on the next loop turn, as a lookup would be), else the servers are
  // asked and what they say is kept for its TTL (answer_ttl.h).
  void query(const std::string& name, int type, Raw done);
  void keep(const std::string& key, int status, const unsigned char* answer, int len);

  static void on_sock_state(void* data, ares_socket_t fd, int readable, int writable);
  static void on_poll(uv_poll_t* p, int status, int events);
  static void on_timer(uv_timer_t* t);
  void rearm_timer();

  uv_loop_t* loop_;
  ares_channel channel_ = nullptr;
  uv_timer_t* timer_;
  std::map<ares_socket_t, uv_poll_t*> polls_;
  struct Cached {
    int status;
    std::string answer;
    uint64_t expires;  // uv_now() ms
  };
  std::unordered_map<std::string, Cached> cache_;  // "type:name"
  std::deque<std::string> cache_order_;           // oldest first, for eviction
  std::set<uv_timer_t*> replays_;                 // cached answers on their way: dropped if we go first
  uint64_t hits_ = 0;
};

}  // namespace gannet::dns
