// DKIM's canonicalizations (RFC 6376 3.4) and what they work on: a header
// block split into fields, each field in simple or relaxed form, and the
// body canonicalized as it streams through a SHA-256. Pure functions and
// one small state machine: the signer and the verifier share them.
#pragma once

#include <openssl/sha.h>

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace gannet::dkim {

enum class Canon { simple, relaxed };

// "relaxed/simple" and the like; a lone "relaxed" means relaxed/simple
// (RFC 6376 3.5, c=). nullopt if not that.
std::optional<std::pair<Canon, Canon>> parse_canon(std::string_view text);
std::string_view canon_name(Canon c);

// One header field as it stands: its name and the whole field (name, colon,
// value and folds), without the CRLF that ends it.
struct HeaderField {
  std::string_view name;
  std::string_view raw;
};

// The fields of a header block (the message up to its empty line). A line
// that is neither a field nor a fold is skipped, as verifiers do.
std::vector<HeaderField> split_header(std::string_view block);

// Where the header block ends in a message: the offset of the empty line's
// CRLF (the body starts two octets later); nullopt if not in `start`.
std::optional<size_t> header_end(std::string_view start);

// A field in canonical form, CRLF included (RFC 6376 3.4.1, 3.4.2).
std::string canon_header(const HeaderField& f, Canon c);

// The fields that h= names, taken bottom-up for a name named again
// (RFC 6376 5.4.2); a name with no instance left stands for nothing.
std::vector<std::optional<HeaderField>> select_headers(const std::vector<HeaderField>& fields,
                                                       const std::vector<std::string>& names);

// The body canonicalized and hashed as it comes, a piece at a time, never
// held: empty lines at the end wait until a line with content follows.
class BodyHasher {
 public:
  // limit: l=, the canonical octets hashed at most.
  explicit BodyHasher(Canon c, std::optional<uint64_t> limit = std::nullopt);
  void update(std::string_view piece);
  std::array<uint8_t, SHA256_DIGEST_LENGTH> finish();
  // Canonical octets of the whole body (for l= when signing, and to report).
  uint64_t length() const { return length_; }

 private:
  void emit(std::string_view s);
  void flush_pending();
  void content(std::string_view run);
  void end_line();

  Canon canon_;
  std::optional<uint64_t> limit_;
  SHA256_CTX sha_;
  uint64_t length_ = 0;      // canonical octets so far (emitted)
  uint64_t hashed_ = 0;      // of which hashed (limit)
  uint64_t empty_lines_ = 0; // CRLFs held back
  bool cr_ = false;          // a CR waits to see if an LF follows
  bool wsp_ = false;         // relaxed: whitespace waits to become one SP
  bool in_line_ = false;     // the line has content
  std::string out_;          // a small buffer in front of the hash
};

}  // namespace gannet::dkim
