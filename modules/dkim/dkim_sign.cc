#include "dkim_sign.h"

#include <openssl/bytestring.h>
#include <openssl/mem.h>

#include <algorithm>

#include "base64.h"
#include "mail/lexer.h"

namespace gannet::dkim {

namespace {

std::string base64(const uint8_t* data, size_t len) {
  return base64_encode({reinterpret_cast<const char*>(data), len});
}

// A long tag value broken over lines; whitespace inside b= and h= is
// ignored by verifiers (RFC 6376 3.5).
std::string fold(std::string_view s, size_t width = 72) {
  std::string out;
  for (size_t at = 0; at < s.size(); at += width) {
    if (at) out += "\r\n\t ";
    out.append(s.substr(at, width));
  }
  return out;
}

}  // namespace

std::string sign_data(const EVP_PKEY* key, const std::string& data) {
  bssl::ScopedEVP_MD_CTX ctx;
  EVP_PKEY* k = const_cast<EVP_PKEY*>(key);
  std::vector<uint8_t> sig;
  size_t len = 0;
  if (EVP_PKEY_id(key) == EVP_PKEY_ED25519) {
    // RFC 8463 3: Ed25519 (PureEdDSA) over the SHA-256 of the data.
    uint8_t digest[SHA256_DIGEST_LENGTH];
    SHA256(reinterpret_cast<const uint8_t*>(data.data()), data.size(), digest);
    if (!EVP_DigestSignInit(ctx.get(), nullptr, nullptr, nullptr, k) ||
        !EVP_DigestSign(ctx.get(), nullptr, &len, digest, sizeof digest))
      return {};
    sig.resize(len);
    if (!EVP_DigestSign(ctx.get(), sig.data(), &len, digest, sizeof digest)) return {};
  } else if (EVP_PKEY_id(key) == EVP_PKEY_RSA) {
    if (!EVP_DigestSignInit(ctx.get(), nullptr, EVP_sha256(), nullptr, k) ||
        !EVP_DigestSign(ctx.get(), nullptr, &len, reinterpret_cast<const uint8_t*>(data.data()), data.size()))
      return {};
    sig.resize(len);
    if (!EVP_DigestSign(ctx.get(), sig.data(), &len, reinterpret_cast<const uint8_t*>(data.data()), data.size()))
      return {};
  } else {
    return {};
  }
  return base64(sig.data(), len);
}

std::vector<std::string> names_to_sign(const std::vector<HeaderField>& fields, const std::vector<std::string>& sign,
                                       const std::vector<std::string>& oversign) {
  std::vector<std::string> out;
  for (const auto& name : sign) {
    size_t n = std::count_if(fields.begin(), fields.end(), [&](const HeaderField& f) { return mail::iequals(f.name, name); });
    if (std::find(oversign.begin(), oversign.end(), name) != oversign.end()) n++;
    out.insert(out.end(), n, name);
  }
  return out;
}

std::string signed_data(const std::vector<HeaderField>& fields, const std::vector<std::string>& names,
                        Canon header_canon, const HeaderField& dkim_signature) {
  std::string data;
  for (const auto& f : select_headers(fields, names))
    if (f) data += canon_header(*f, header_canon);
  std::string self = canon_header(dkim_signature, header_canon);
  self.resize(self.size() - 2);  // the signature's own field is signed without its CRLF
  return data + self;
}

std::string signature(const SignParams& p, const std::vector<HeaderField>& fields,
                      const std::array<uint8_t, SHA256_DIGEST_LENGTH>& body_hash) {
  bool ed = EVP_PKEY_id(p.key) == EVP_PKEY_ED25519;
  std::string h;
  for (const auto& n : p.names) h += (h.empty() ? "" : ":") + n;
  std::string value = "v=1; a=" + std::string(ed ? "ed25519-sha256" : "rsa-sha256") + "; c=" +
                      std::string(canon_name(p.header)) + "/" + std::string(canon_name(p.body)) + "; d=" + p.domain +
                      "; s=" + p.selector + ";\r\n\tt=" + std::to_string(p.now) +
                      (p.expire ? "; x=" + std::to_string(p.now + *p.expire) : "") + ";\r\n\th=" + fold(h) +
                      ";\r\n\tbh=" + base64(body_hash.data(), body_hash.size()) + ";\r\n\tb=";
  std::string field = "DKIM-Signature: " + value;
  std::string b = sign_data(p.key, signed_data(fields, p.names, p.header, {"DKIM-Signature", field}));
  if (b.empty()) return {};
  return value + fold(b);
}

}  // namespace gannet::dkim
