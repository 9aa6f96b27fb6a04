// Making a DKIM-Signature (RFC 6376 5, RFC 8463): which fields to sign,
// and the signature over them with an RSA or Ed25519 key. Runs off the
// loop (the module queues it on the thread pool).
#pragma once

#include <openssl/evp.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "dkim_canon.h"

namespace gannet::dkim {

struct SignParams {
  std::string domain, selector;   // d=, s=
  const EVP_PKEY* key = nullptr;  // RSA (rsa-sha256) or Ed25519 (ed25519-sha256)
  Canon header = Canon::relaxed, body = Canon::relaxed;
  std::vector<std::string> names;  // h=, lower-case, as select_headers takes them
  int64_t now = 0;                 // t=
  std::optional<int64_t> expire;   // x= is t= plus this many seconds
};

// h=: each of `sign` as many times as the message has it, and the ones in
// `oversign` once more, so that none can be added after signing.
std::vector<std::string> names_to_sign(const std::vector<HeaderField>& fields, const std::vector<std::string>& sign,
                                       const std::vector<std::string>& oversign);

// The DKIM-Signature field's value (folded, without the name), or "" if
// the key cannot sign.
std::string signature(const SignParams& p, const std::vector<HeaderField>& fields,
                      const std::array<uint8_t, SHA256_DIGEST_LENGTH>& body_hash);

// b=: the data signed with the key, base64; "" if the key cannot sign.
// RSA: PKCS#1 v1.5 over SHA-256; Ed25519: over the data's SHA-256 (RFC 8463 3).
std::string sign_data(const EVP_PKEY* key, const std::string& data);

// The data a signature covers: the h= fields in canonical form, then the
// DKIM-Signature field itself with an empty b=, without its CRLF.
std::string signed_data(const std::vector<HeaderField>& fields, const std::vector<std::string>& names,
                        Canon header_canon, const HeaderField& dkim_signature);

}  // namespace gannet::dkim
