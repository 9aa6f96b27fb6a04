// DKIM signing keys: where they live, how they are made and loaded, and what
// DNS must publish for them. gannetctl makes keys; the DKIM module signs with
// them; both go through here so the two never disagree.
#pragma once

#include <openssl/evp.h>

#include <string>
#include <string_view>
#include <vector>

namespace gannet {

struct Cycle;

enum class DkimAlgo { rsa2048, ed25519 };

// The one rule for the key location: <prefix>/dkim/<domain>/<selector>.key.
// DOMAIN and SELECTOR must be valid (dkim_valid_name), so neither can leave
// the directory.
std::string dkim_key_dir(const Cycle& cycle, std::string_view domain);
std::string dkim_key_path(const Cycle& cycle, std::string_view domain, std::string_view selector);

// A domain or selector is a lower-case DNS name (RFC 6376 3.1: sub-domain).
bool dkim_valid_name(std::string_view name);

// The selectors that have a key for DOMAIN, sorted; none if no directory.
std::vector<std::string> dkim_selectors(const Cycle& cycle, std::string_view domain);

bssl::UniquePtr<EVP_PKEY> dkim_generate(DkimAlgo algo);

// Writes KEY as PEM PKCS#8, mode 0600, creating its directories 0700. The
// file appears whole or not at all; an existing one is kept unless REPLACE.
bool dkim_save_key(const EVP_PKEY* key, const std::string& path, bool replace, std::string& err);

// Null with ERR set if PATH is not a readable RSA or Ed25519 private key.
bssl::UniquePtr<EVP_PKEY> dkim_load_key(const std::string& path, std::string& err);

// The TXT value, "v=DKIM1; k=rsa; p=<base64 SPKI>" or, per RFC 8463,
// "v=DKIM1; k=ed25519; p=<base64 raw 32-byte key>"; empty for other types.
std::string dkim_txt_value(const EVP_PKEY* key);

}  // namespace gannet
