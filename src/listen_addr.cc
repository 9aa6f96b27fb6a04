#include "listen_addr.h"

#include <arpa/inet.h>

#include <charconv>
#include <cstring>

#include <uv.h>

namespace gannet {

static bool parse_port(std::string_view s, uint16_t& port) {
  unsigned v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size() || s.empty() || v == 0 || v > 65535) return false;
  port = static_cast<uint16_t>(v);
  return true;
}

bool parse_listen_addr(std::string_view arg, ListenAddr& out) {
  std::string host;
  std::string_view port_s;
  if (!arg.empty() && arg[0] == '[') {
    auto close = arg.find("]:");
    if (close == std::string_view::npos) return false;
    host = std::string(arg.substr(1, close - 1));
    port_s = arg.substr(close + 2);
  } else if (auto colon = arg.rfind(':'); colon != std::string_view::npos) {
    host = std::string(arg.substr(0, colon));
    port_s = arg.substr(colon + 1);
    if (host == "*") host = "0.0.0.0";
  } else {
    host = "0.0.0.0";
    port_s = arg;
  }
  uint16_t port;
  if (!parse_port(port_s, port)) return false;

  out.addr = {};
  auto* sin6 = reinterpret_cast<sockaddr_in6*>(&out.addr);
  auto* sin = reinterpret_cast<sockaddr_in*>(&out.addr);
  char buf[INET6_ADDRSTRLEN];
  if (inet_pton(AF_INET6, host.c_str(), &sin6->sin6_addr) == 1) {
    sin6->sin6_family = AF_INET6;
    sin6->sin6_port = htons(port);
    out.len = sizeof(sockaddr_in6);
    inet_ntop(AF_INET6, &sin6->sin6_addr, buf, sizeof buf);
    out.text = "[" + std::string(buf) + "]:" + std::to_string(port);
  } else if (inet_pton(AF_INET, host.c_str(), &sin->sin_addr) == 1) {
    sin->sin_family = AF_INET;
    sin->sin_port = htons(port);
    out.len = sizeof(sockaddr_in);
    inet_ntop(AF_INET, &sin->sin_addr, buf, sizeof buf);
    out.text = std::string(buf) + ":" + std::to_string(port);
  } else {
    return false;
  }
  return true;
}

std::string sockaddr_ip(const sockaddr_storage& ss) {
  char host[INET6_ADDRSTRLEN] = "?";
  if (ss.ss_family == AF_INET) uv_ip4_name(reinterpret_cast<const sockaddr_in*>(&ss), host, sizeof host);
  else if (ss.ss_family == AF_INET6) uv_ip6_name(reinterpret_cast<const sockaddr_in6*>(&ss), host, sizeof host);
  return host;
}

std::string sockaddr_text(const sockaddr_storage& ss) {
  if (ss.ss_family == AF_INET)
    return sockaddr_ip(ss) + ":" + std::to_string(ntohs(reinterpret_cast<const sockaddr_in*>(&ss)->sin_port));
  return "[" + sockaddr_ip(ss) + "]:" + std::to_string(ntohs(reinterpret_cast<const sockaddr_in6*>(&ss)->sin6_port));
}

}  // namespace gannet
