// Password hashes: argon2id in its encoded form ("$argon2id$v=19$m=...").
// Hashing costs tens of milliseconds: a worker runs it on the thread pool.
#pragma once

#include <string>
#include <string_view>

namespace gannet {

std::string hash_password(std::string_view password);  // empty on failure
bool verify_password(std::string_view encoded_hash, std::string_view password);

}  // namespace gannet
