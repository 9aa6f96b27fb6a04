// Helpers shared by the unit tests.
#pragma once

#include <string>

// A temporary directory removed with everything in it.
struct TempDir {
  std::string path;
  TempDir();
  ~TempDir();
  std::string write(const std::string& name, const std::string& text) const;  // returns the full path
};

// Writes DIR/NAME.pem and DIR/NAME.key: a self-signed RSA 2048 certificate.
void write_self_signed(const std::string& dir, const std::string& name, const std::string& cn);
