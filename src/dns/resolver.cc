#include "dns/resolver.h"

#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <netdb.h>

#include <algorithm>
#include <cstring>
#include <memory>

#include "dns/answer_ttl.h"

namespace gannet::dns {

namespace {

Resolver::Result result_of(int status) {
  switch (status) {
    case ARES_SUCCESS: return Resolver::Result::ok;
    case ARES_ENOTFOUND: return Resolver::Result::no_such_domain;
    case ARES_ENODATA: return Resolver::Result::no_data;
    default: return Resolver::Result::temporary;
  }
}

constexpr size_t kCacheEntries = 4096;
constexpr uint32_t kCacheTtlMax = 86400;

struct RawQuery {
  Resolver* resolver;
  std::string key;
  Resolver::Raw done;
};

// A cached answer given on the next turn of the loop, as a real lookup's.
struct Replay {
  uv_timer_t timer;
  Resolver* owner;
  int status;
  std::string answer;
  Resolver::Raw done;
};

void free_replay(uv_timer_t* t) {
  uv_close(reinterpret_cast<uv_handle_t*>(t), [](uv_handle_t* h) { delete static_cast<Replay*>(h->data); });
}

struct AddrQuery {
  std::function<void(Resolver::Result, std::vector<sockaddr_storage>)> done;
};

void close_and_free(uv_handle_t* h) {
  uv_close(h, [](uv_handle_t* x) { free(x); });
}

bool is_ip(int family, std::string_view s) {
  unsigned char buf[sizeof(in6_addr)];
  return !s.empty() && s.size() < 64 && inet_pton(family, std::string(s).c_str(), buf) == 1;
}

bool is_port(std::string_view s) {
  if (s.empty() || s.size() > 5) return false;
  unsigned n = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    n = n * 10 + (c - '0');
  }
  return n >= 1 && n <= 65535;
}

bool valid_server(std::string_view e) {
  if (e.starts_with('[')) {
    auto close = e.find(']');
    return close != std::string_view::npos && is_ip(AF_INET6, e.substr(1, close - 1)) &&
           e.substr(close + 1).starts_with(':') && is_port(e.substr(close + 2));
  }
  if (is_ip(AF_INET6, e)) return true;
  auto colon = e.find(':');
  if (colon == std::string_view::npos) return is_ip(AF_INET, e);
  return is_ip(AF_INET, e.substr(0, colon)) && is_port(e.substr(colon + 1));
}

}  // namespace

std::optional<std::string> bad_server_entry(std::string_view servers) {
  while (true) {
    auto comma = servers.find(',');
    std::string_view entry = servers.substr(0, comma);
    if (!valid_server(entry)) return std::string(entry);
    if (comma == std::string_view::npos) return std::nullopt;
    servers.remove_prefix(comma + 1);
  }
}

Resolver::Resolver(uv_loop_t* loop, const std::string& servers, std::string& err) : loop_(loop) {
  static int library = ares_library_init(ARES_LIB_INIT_ALL);
  (void)library;
  ares_options opts{};
  opts.sock_state_cb = on_sock_state;
  opts.sock_state_cb_data = this;
  opts.timeout = 3000;  // ms per try
  opts.tries = 3;
  int rc = ares_init_options(&channel_, &opts, ARES_OPT_SOCK_STATE_CB | ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES);
  if (rc == ARES_SUCCESS && !servers.empty()) rc = ares_set_servers_ports_csv(channel_, servers.c_str());
  if (rc != ARES_SUCCESS) err = std::string("c-ares: ") + ares_strerror(rc);
  timer_ = static_cast<uv_timer_t*>(malloc(sizeof(uv_timer_t)));
  uv_timer_init(loop_, timer_);
  timer_->data = this;
}

Resolver::~Resolver() {
  for (uv_timer_t* t : replays_) free_replay(t);  // their callers are going too
  if (channel_) ares_destroy(channel_);  // calls back pending queries with ARES_EDESTRUCTION
  for (auto& [fd, p] : polls_) close_and_free(reinterpret_cast<uv_handle_t*>(p));
  close_and_free(reinterpret_cast<uv_handle_t*>(timer_));
}

void Resolver::on_sock_state(void* data, ares_socket_t fd, int readable, int writable) {
  auto* self = static_cast<Resolver*>(data);
  auto it = self->polls_.find(fd);
  if (!readable && !writable) {
    if (it != self->polls_.end()) {
      uv_poll_stop(it->second);
      close_and_free(reinterpret_cast<uv_handle_t*>(it->second));
      self->polls_.erase(it);
    }
    return;
  }
  uv_poll_t* p;
  if (it == self->polls_.end()) {
    p = static_cast<uv_poll_t*>(malloc(sizeof(uv_poll_t)));
    uv_poll_init_socket(self->loop_, p, fd);
    p->data = self;
    self->polls_[fd] = p;
  } else {
    p = it->second;
  }
  uv_poll_start(p, (readable ? UV_READABLE : 0) | (writable ? UV_WRITABLE : 0), on_poll);
}

void Resolver::on_poll(uv_poll_t* p, int status, int events) {
  auto* self = static_cast<Resolver*>(p->data);
  ares_socket_t fd = ARES_SOCKET_BAD;
  for (auto& [f, handle] : self->polls_)
    if (handle == p) fd = f;
  bool err = status < 0;
  ares_process_fd(self->channel_, (err || (events & UV_READABLE)) ? fd : ARES_SOCKET_BAD,
                  (err || (events & UV_WRITABLE)) ? fd : ARES_SOCKET_BAD);
  self->rearm_timer();
}

void Resolver::on_timer(uv_timer_t* t) {
  auto* self = static_cast<Resolver*>(t->data);
  ares_process_fd(self->channel_, ARES_SOCKET_BAD, ARES_SOCKET_BAD);  // handles timeouts
  self->rearm_timer();
}

void Resolver::rearm_timer() {
  timeval tv, *next = ares_timeout(channel_, nullptr, &tv);
  if (!next) {
    uv_timer_stop(timer_);
    return;
  }
  uv_timer_start(timer_, on_timer, next->tv_sec * 1000 + next->tv_usec / 1000 + 1, 0);
}

void order_mx(std::vector<MxHost>& hosts, std::mt19937& random) {
  std::shuffle(hosts.begin(), hosts.end(), random);
  std::stable_sort(hosts.begin(), hosts.end(), [](auto& a, auto& b) { return a.preference < b.preference; });
}

void Resolver::query(const std::string& name, int type, Raw done) {
  std::string key = std::to_string(type) + ":" + name;
  for (char& c : key) c = static_cast<char>(tolower(static_cast<unsigned char>(c)));
  auto hit = cache_.find(key);
  if (hit != cache_.end() && hit->second.expires > uv_now(loop_)) {
    hits_++;
    auto* r = new Replay{{}, this, hit->second.status, hit->second.answer, std::move(done)};
    uv_timer_init(loop_, &r->timer);
    r->timer.data = r;
    replays_.insert(&r->timer);
    uv_timer_start(&r->timer, [](uv_timer_t* t) {
      auto* r = static_cast<Replay*>(t->data);
      r->owner->replays_.erase(t);
      r->done(r->status, reinterpret_cast<const unsigned char*>(r->answer.data()), static_cast<int>(r->answer.size()));
      free_replay(t);
    }, 0, 0);
    return;
  }
  auto* q = new RawQuery{this, key, std::move(done)};
  ares_query(channel_, name.c_str(), ns_c_in, type, [](void* arg, int status, int, unsigned char* abuf, int alen) {
    std::unique_ptr<RawQuery> q(static_cast<RawQuery*>(arg));
    if (status == ARES_EDESTRUCTION) return;  // the resolver is going: nobody to tell
    q->resolver->keep(q->key, status, abuf, alen);
    q->done(status, abuf, alen);
  }, q);
  rearm_timer();
}

// Answers (and the negative ones, RFC 2308) for as long as their TTL says,
// a day at most; failures are not kept. The oldest go when it is full.
void Resolver::keep(const std::string& key, int status, const unsigned char* answer, int len) {
  if (status != ARES_SUCCESS && status != ARES_ENOTFOUND && status != ARES_ENODATA) return;
  if (!answer || len <= 0) return;
  auto ttl = answer_ttl(answer, static_cast<size_t>(len));
  if (!ttl || *ttl == 0) return;
  if (!cache_.count(key)) {
    while (cache_.size() >= kCacheEntries && !cache_order_.empty()) {
      cache_.erase(cache_order_.front());
      cache_order_.pop_front();
    }
    cache_order_.push_back(key);
  }
  cache_[key] = {status, std::string(reinterpret_cast<const char*>(answer), static_cast<size_t>(len)),
                 uv_now(loop_) + std::min(*ttl, kCacheTtlMax) * 1000ull};
}

void Resolver::mx(const std::string& domain, std::function<void(Result, std::vector<MxHost>)> done) {
  query(domain, ns_t_mx, [done = std::move(done)](int status, const unsigned char* abuf, int alen) {
    std::vector<MxHost> hosts;
    ares_mx_reply* reply = nullptr;
    if (status == ARES_SUCCESS) {
      status = ares_parse_mx_reply(abuf, alen, &reply);
      for (auto* r = reply; r; r = r->next) hosts.push_back({r->host, r->priority});
      if (reply) ares_free_data(reply);
      if (status == ARES_SUCCESS && hosts.empty()) status = ARES_ENODATA;
    }
    static std::mt19937 random{std::random_device{}()};
    order_mx(hosts, random);
    done(result_of(status), std::move(hosts));
  });
}

void Resolver::txt(const std::string& name, std::function<void(Result, std::vector<std::string>)> done) {
  query(name, ns_t_txt, [done = std::move(done)](int status, const unsigned char* abuf, int alen) {
    std::vector<std::string> records;
    ares_txt_ext* reply = nullptr;
    if (status == ARES_SUCCESS) {
      status = ares_parse_txt_reply_ext(abuf, alen, &reply);
      for (auto* r = reply; r; r = r->next) {
        if (r->record_start || records.empty()) records.emplace_back();
        records.back().append(reinterpret_cast<const char*>(r->txt), r->length);
      }
      if (reply) ares_free_data(reply);
      if (status == ARES_SUCCESS && records.empty()) status = ARES_ENODATA;
    }
    done(result_of(status), std::move(records));
  });
}

void Resolver::addresses(const std::string& host, uint16_t port,
                         std::function<void(Result, std::vector<sockaddr_storage>)> done) {
  auto* q = new AddrQuery{std::move(done)};
  ares_addrinfo_hints hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = ARES_AI_NUMERICSERV;
  std::string service = std::to_string(port);
  ares_getaddrinfo(channel_, host.c_str(), service.c_str(), &hints, [](void* arg, int status, int, ares_addrinfo* res) {
    std::unique_ptr<AddrQuery> q(static_cast<AddrQuery*>(arg));
    if (status == ARES_EDESTRUCTION) return;
    std::vector<sockaddr_storage> out;
    for (auto* n = res ? res->nodes : nullptr; n; n = n->ai_next) {
      sockaddr_storage ss{};
      memcpy(&ss, n->ai_addr, std::min<size_t>(n->ai_addrlen, sizeof ss));
      out.push_back(ss);
    }
    if (res) ares_freeaddrinfo(res);
    if (status == ARES_SUCCESS && out.empty()) status = ARES_ENODATA;
    q->done(result_of(status), std::move(out));
  }, q);
  rearm_timer();
}

}  // namespace gannet::dns
