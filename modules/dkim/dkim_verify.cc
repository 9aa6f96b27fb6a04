#include "dkim_verify.h"

#include <openssl/bytestring.h>
#include <openssl/rsa.h>
#include <openssl/sha.h>

#include <algorithm>

#include "dkim_sign.h"

namespace gannet::dkim {

namespace {

bool is_fws(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

// p=: an RSA key as SubjectPublicKeyInfo (or a bare RSAPublicKey, as some
// publish), an Ed25519 key as its 32 octets (RFC 8463 4.2).
bssl::UniquePtr<EVP_PKEY> public_key(const std::string& der, Algorithm a) {
  auto* data = reinterpret_cast<const uint8_t*>(der.data());
  if (a == Algorithm::ed25519_sha256)
    return bssl::UniquePtr<EVP_PKEY>(EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr, data, der.size()));
  CBS cbs;
  CBS_init(&cbs, data, der.size());
  bssl::UniquePtr<EVP_PKEY> key(EVP_parse_public_key(&cbs));
  if (key && CBS_len(&cbs) == 0) return key;
  CBS_init(&cbs, data, der.size());
  bssl::UniquePtr<RSA> rsa(RSA_parse_public_key(&cbs));
  if (!rsa || CBS_len(&cbs) != 0) return nullptr;
  key.reset(EVP_PKEY_new());
  if (!key || !EVP_PKEY_assign_RSA(key.get(), rsa.release())) return nullptr;
  return key;
}

bool check_signature(EVP_PKEY* key, Algorithm a, const std::string& data, const std::string& sig) {
  bssl::ScopedEVP_MD_CTX ctx;
  auto* s = reinterpret_cast<const uint8_t*>(sig.data());
  if (a == Algorithm::ed25519_sha256) {
    uint8_t digest[SHA256_DIGEST_LENGTH];
    SHA256(reinterpret_cast<const uint8_t*>(data.data()), data.size(), digest);
    return EVP_DigestVerifyInit(ctx.get(), nullptr, nullptr, nullptr, key) &&
           EVP_DigestVerify(ctx.get(), s, sig.size(), digest, sizeof digest);
  }
  return EVP_DigestVerifyInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key) &&
         EVP_DigestVerify(ctx.get(), s, sig.size(), reinterpret_cast<const uint8_t*>(data.data()), data.size());
}

}  // namespace

std::string_view result_name(Result r) {
  static constexpr std::string_view names[] = {"none", "pass", "fail", "neutral", "policy", "temperror", "permerror"};
  return names[static_cast<size_t>(r)];
}

std::string without_b_value(std::string_view raw) {
  size_t value = raw.find(':') + 1;
  for (size_t at = value; at < raw.size();) {
    size_t name = at;
    while (name < raw.size() && is_fws(raw[name])) name++;
    size_t eq = name;
    while (eq < raw.size() && !is_fws(raw[eq]) && raw[eq] != '=' && raw[eq] != ';') eq++;
    size_t end = raw.find(';', at);
    if (raw.substr(name, eq - name) == "b") {
      size_t v = raw.find('=', eq);
      if (v != std::string_view::npos && (end == std::string_view::npos || v < end)) {
        std::string out(raw.substr(0, v + 1));
        if (end != std::string_view::npos) out.append(raw.substr(end));
        return out;
      }
    }
    if (end == std::string_view::npos) break;
    at = end + 1;
  }
  return std::string(raw);
}

Outcome verify(const std::vector<HeaderField>& fields, const HeaderField& field, const Signature& sig,
               const KeyRecord& key, const std::string& body_hash, int64_t now) {
  if (sig.expiration && *sig.expiration < now) return {Result::fail, "signature expired"};
  if (key.public_key.empty()) return {Result::fail, "key revoked"};
  bool ed = sig.algorithm == Algorithm::ed25519_sha256;
  if (key.key_type != (ed ? "ed25519" : "rsa")) return {Result::permerror, "key type " + key.key_type + " does not fit a="};
  if (!key.hashes.empty() && std::find(key.hashes.begin(), key.hashes.end(), "sha256") == key.hashes.end())
    return {Result::permerror, "the key does not allow sha256"};
  if (key.strict && sig.auid.substr(sig.auid.rfind('@') + 1) != sig.domain)
    return {Result::permerror, "the key is strict (t=s) and i= is a subdomain"};
  bssl::UniquePtr<EVP_PKEY> pkey = public_key(key.public_key, sig.algorithm);
  if (!pkey) return {Result::permerror, "the key record's p= is not a public key"};
  if (!ed && EVP_PKEY_bits(pkey.get()) < 1024)  // RFC 8301 3.2
    return {Result::policy, "an RSA key of " + std::to_string(EVP_PKEY_bits(pkey.get())) + " bits"};
  if (body_hash != sig.body_hash) return {Result::fail, "body hash did not verify"};
  HeaderField unsigned_field{field.name, {}};
  std::string stripped = without_b_value(field.raw);
  unsigned_field.raw = stripped;
  std::string data = signed_data(fields, sig.headers, sig.header_canon, unsigned_field);
  if (!check_signature(pkey.get(), sig.algorithm, data, sig.signature))
    return {Result::fail, "signature did not verify"};
  return {Result::pass, {}};
}

}  // namespace gannet::dkim
