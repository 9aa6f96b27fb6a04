#include "base64.h"

#include <openssl/base64.h>

namespace gannet {

namespace {

const uint8_t* bytes(std::string_view s) { return reinterpret_cast<const uint8_t*>(s.data()); }

}  // namespace

std::string base64_encode(std::string_view in) {
  size_t len = 0;
  if (!EVP_EncodedLength(&len, in.size())) return {};
  std::string out(len, '\0');
  out.resize(EVP_EncodeBlock(reinterpret_cast<uint8_t*>(out.data()), bytes(in), in.size()));
  return out;
}

std::optional<std::string> base64_decode(std::string_view in, size_t max) {
  size_t out_len = 0;
  if (!EVP_DecodedLength(&out_len, in.size()) || out_len > max + 2) return std::nullopt;  // +2: the padding
  std::string out(out_len, '\0');
  if (!EVP_DecodeBase64(reinterpret_cast<uint8_t*>(out.data()), &out_len, out.size(), bytes(in), in.size()) ||
      out_len > max)
    return std::nullopt;
  out.resize(out_len);
  return out;
}

}  // namespace gannet
