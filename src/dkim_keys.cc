#include "dkim_keys.h"

#include <fcntl.h>
#include <openssl/bio.h>
#include <openssl/bytestring.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>

#include "base64.h"
#include "cycle.h"
#include "store/txn.h"

namespace gannet {

namespace {

constexpr std::string_view key_suffix = ".key";

std::string sys_error(const char* call, const std::string& path) {
  return std::string(call) + " \"" + path + "\" failed (" + strerror(errno) + ")";
}

// Missing directories are made 0700: the keys are secrets, so is their list.
bool make_dirs(const std::filesystem::path& dir, std::string& err) {
  if (dir.empty()) return true;
  struct stat st;
  if (stat(dir.c_str(), &st) == 0) {
    if (S_ISDIR(st.st_mode)) return true;
    err = "\"" + dir.string() + "\" is not a directory";
    return false;
  }
  if (!make_dirs(dir.parent_path(), err)) return false;
  if (mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
    err = sys_error("mkdir()", dir.string());
    return false;
  }
  return true;
}

std::string base64(const uint8_t* data, size_t len) {
  return base64_encode({reinterpret_cast<const char*>(data), len});
}

// Closes FD; true once the key is on disk.
bool write_pem(int fd, const EVP_PKEY* key) {
  bssl::UniquePtr<BIO> bio(BIO_new_fd(fd, BIO_CLOSE));
  if (!bio) {
    close(fd);
    return false;
  }
  return PEM_write_bio_PKCS8PrivateKey(bio.get(), const_cast<EVP_PKEY*>(key), nullptr, nullptr, 0, nullptr, nullptr) &&
         BIO_flush(bio.get()) == 1 && fsync(fd) == 0;
}

}  // namespace

std::string dkim_key_dir(const Cycle& cycle, std::string_view domain) {
  return cycle.prefix + "/dkim/" + std::string(domain);
}

std::string dkim_key_path(const Cycle& cycle, std::string_view domain, std::string_view selector) {
  return dkim_key_dir(cycle, domain) + "/" + std::string(selector) + std::string(key_suffix);
}

// The store's rule for domain names is exactly the sub-domain syntax.
bool dkim_valid_name(std::string_view name) { return !name.empty() && store::normalize_domain(name) == name; }

std::vector<std::string> dkim_selectors(const Cycle& cycle, std::string_view domain) {
  std::vector<std::string> out;
  std::error_code ec;
  for (auto& e : std::filesystem::directory_iterator(dkim_key_dir(cycle, domain), ec)) {
    std::string name = e.path().filename().string();
    if (!e.is_regular_file(ec) || !name.ends_with(key_suffix)) continue;
    name.resize(name.size() - key_suffix.size());
    if (dkim_valid_name(name)) out.push_back(name);  // skips half-written temp files
  }
  std::sort(out.begin(), out.end());
  return out;
}

bssl::UniquePtr<EVP_PKEY> dkim_generate(DkimAlgo algo) {
  bssl::UniquePtr<EVP_PKEY_CTX> ctx(EVP_PKEY_CTX_new_id(algo == DkimAlgo::ed25519 ? EVP_PKEY_ED25519 : EVP_PKEY_RSA, nullptr));
  if (!ctx || !EVP_PKEY_keygen_init(ctx.get())) return nullptr;
  // RFC 8301: at least 1024 bits, 2048 recommended; larger keys no longer
  // fit one DNS packet comfortably.
  if (algo == DkimAlgo::rsa2048 && !EVP_PKEY_CTX_set_rsa_keygen_bits(ctx.get(), 2048)) return nullptr;
  EVP_PKEY* key = nullptr;
  if (!EVP_PKEY_keygen(ctx.get(), &key)) return nullptr;
  return bssl::UniquePtr<EVP_PKEY>(key);
}

bool dkim_save_key(const EVP_PKEY* key, const std::string& path, bool replace, std::string& err) {
  std::filesystem::path p(path);
  if (!make_dirs(p.parent_path(), err)) return false;
  // Written beside the target under a name no selector can have, then
  // linked (fails if the key exists) or renamed (replaces it) into place.
  std::string tmp = (p.parent_path() / ("." + p.filename().string() + ".XXXXXX")).string();
  int fd = mkstemp(tmp.data());  // mode 0600
  if (fd < 0) {
    err = sys_error("mkstemp()", tmp);
    return false;
  }
  std::string failed;
  if (!write_pem(fd, key)) failed = "writing \"" + tmp + "\" failed";
  else if (replace ? rename(tmp.c_str(), path.c_str()) != 0 : link(tmp.c_str(), path.c_str()) != 0)
    failed = !replace && errno == EEXIST ? "\"" + path + "\" exists already" : sys_error(replace ? "rename()" : "link()", path);
  if (!failed.empty() || !replace) unlink(tmp.c_str());
  if (!failed.empty()) err = failed;
  return failed.empty();
}

bssl::UniquePtr<EVP_PKEY> dkim_load_key(const std::string& path, std::string& err) {
  bssl::UniquePtr<BIO> bio(BIO_new_file(path.c_str(), "r"));
  if (!bio) {
    err = sys_error("open()", path);
    return nullptr;
  }
  bssl::UniquePtr<EVP_PKEY> key(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
  if (!key) {
    err = "\"" + path + "\" is not a PEM private key";
  } else if (dkim_txt_value(key.get()).empty()) {
    err = "\"" + path + "\" is neither an RSA nor an Ed25519 key";
    key.reset();
  }
  return key;
}

std::string dkim_txt_value(const EVP_PKEY* key) {
  switch (EVP_PKEY_id(key)) {
    case EVP_PKEY_RSA: {
      bssl::ScopedCBB cbb;
      uint8_t* der;
      size_t len;
      if (!CBB_init(cbb.get(), 512) || !EVP_marshal_public_key(cbb.get(), key) || !CBB_finish(cbb.get(), &der, &len))
        return {};
      bssl::UniquePtr<uint8_t> owned(der);
      return "v=DKIM1; k=rsa; p=" + base64(der, len);
    }
    case EVP_PKEY_ED25519: {
      uint8_t raw[32];
      size_t len = sizeof raw;
      if (!EVP_PKEY_get_raw_public_key(key, raw, &len)) return {};
      return "v=DKIM1; k=ed25519; p=" + base64(raw, len);
    }
    default:
      return {};
  }
}

}  // namespace gannet
