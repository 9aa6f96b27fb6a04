#include "password.h"

#include <argon2.h>
#include <openssl/rand.h>

namespace gannet {

namespace {
// OWASP's argon2id baseline: 19 MiB, 2 passes, 1 lane.
constexpr uint32_t kTimeCost = 2, kMemoryKiB = 19 * 1024, kLanes = 1;
constexpr size_t kSaltLen = 16, kHashLen = 32;
}  // namespace

std::string hash_password(std::string_view password) {
  uint8_t salt[kSaltLen];
  RAND_bytes(salt, sizeof salt);
  size_t len = argon2_encodedlen(kTimeCost, kMemoryKiB, kLanes, kSaltLen, kHashLen, Argon2_id);
  std::string out(len, '\0');
  if (argon2id_hash_encoded(kTimeCost, kMemoryKiB, kLanes, password.data(), password.size(), salt, sizeof salt,
                            kHashLen, out.data(), out.size()) != ARGON2_OK)
    return {};
  out.resize(out.find('\0'));
  return out;
}

bool verify_password(std::string_view encoded, std::string_view password) {
  std::string h(encoded);  // argon2 wants a NUL-terminated string
  return argon2id_verify(h.c_str(), password.data(), password.size()) == ARGON2_OK;
}

}  // namespace gannet
