// The body's DKIM hash straight from the message buffer (memory or its
// spool file), a quarter MiB at a time: what the signer and the verifier
// both need, on the thread pool.
#include "dkim_module.h"
#include "mail/message_buffer.h"

namespace gannet::dkim {

std::optional<Digest> hash_body(const mail::MessageBuffer& m, size_t header_end, Canon c, std::optional<uint64_t> limit) {
  BodyHasher h(c, limit);
  std::string chunk;
  for (uint64_t off = header_end + 2; off < m.size(); off += chunk.size()) {
    chunk.resize(std::min<uint64_t>(m.size() - off, 256 << 10));
    if (!m.read(off, chunk.size(), chunk.data())) return std::nullopt;
    h.update(chunk);
  }
  return h.finish();
}

}  // namespace gannet::dkim
