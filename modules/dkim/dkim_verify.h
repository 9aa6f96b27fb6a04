// Checking one DKIM signature (RFC 6376 6.1) once its key record has come:
// the key fit for the algorithm and the domain, the body hash, and the
// signature over the signed fields. Pure but for the crypto; runs on the
// thread pool.
#pragma once

#include <openssl/evp.h>

#include <string>
#include <string_view>
#include <vector>

#include "dkim_canon.h"
#include "dkim_tags.h"

namespace gannet::dkim {

// RFC 8601 2.7.1's results for dkim=.
enum class Result { none, pass, fail, neutral, policy, temperror, permerror };
std::string_view result_name(Result r);

struct Outcome {
  Result result = Result::none;
  std::string reason;  // why, when not pass
};

// A received DKIM-Signature field as its signature covers it: the value of
// b= (and the whitespace in it) gone, everything else as it came.
std::string without_b_value(std::string_view raw_field);

// The verdict on `sig` (parsed from `field`) with its key record and the
// hash of the body as sig canonicalizes it (with its l=), at time `now`.
Outcome verify(const std::vector<HeaderField>& fields, const HeaderField& field, const Signature& sig,
               const KeyRecord& key, const std::string& body_hash, int64_t now);

}  // namespace gannet::dkim
