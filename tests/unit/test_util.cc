#include "test_util.h"

#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <stdlib.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <stdexcept>

TempDir::TempDir() {
  char tmpl[] = "/tmp/gannet-unit-XXXXXX";
  if (!mkdtemp(tmpl)) throw std::runtime_error("mkdtemp failed");
  path = tmpl;
}

TempDir::~TempDir() { std::filesystem::remove_all(path); }

std::string TempDir::write(const std::string& name, const std::string& text) const {
  std::string full = path + "/" + name;
  std::filesystem::create_directories(std::filesystem::path(full).parent_path());
  std::ofstream(full, std::ios::binary) << text;
  return full;
}

void write_self_signed(const std::string& dir, const std::string& name, const std::string& cn) {
  EVP_PKEY* pkey = EVP_PKEY_new();
  RSA* rsa = RSA_new();
  BIGNUM* e = BN_new();
  BN_set_word(e, RSA_F4);
  RSA_generate_key_ex(rsa, 2048, e, nullptr);
  EVP_PKEY_assign_RSA(pkey, rsa);
  X509* x = X509_new();
  X509_set_version(x, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
  X509_gmtime_adj(X509_getm_notBefore(x), 0);
  X509_gmtime_adj(X509_getm_notAfter(x), 86400L * 30);
  X509_set_pubkey(x, pkey);
  X509_NAME* n = X509_get_subject_name(x);
  X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1, 0);
  X509_set_issuer_name(x, n);
  X509_sign(x, pkey, EVP_sha256());
  FILE* f = fopen((dir + "/" + name + ".pem").c_str(), "w");
  PEM_write_X509(f, x);
  fclose(f);
  f = fopen((dir + "/" + name + ".key").c_str(), "w");
  PEM_write_PrivateKey(f, pkey, nullptr, nullptr, 0, nullptr, nullptr);
  fclose(f);
  BN_free(e);
  X509_free(x);
  EVP_PKEY_free(pkey);
}
