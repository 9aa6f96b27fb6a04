// SEARCH (RFC 3501 6.4.4, RFC 9051 6.4.4): the keys as a tree, and whether
// a message matches them. Pure: the session feeds it messages from the
// store, on the thread pool, since body searches read whole messages.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "imap_parse.h"
#include "mail/message_parser.h"
#include "store/records.h"

namespace gannet::imap {

struct SearchKey {
  enum Kind {
    all, flag_set, flag_clear, keyword, unkeyword, header, body, text,
    before, on, since, sent_before, sent_on, sent_since, larger, smaller, uid, seq, not_, or_, and_, modseq,
    saved,  // "$": the result a SEARCH saved (RFC 5182)
  } kind = and_;
  uint32_t flag = 0;             // a store::FLAG_* bit
  std::string field;             // HEADER's field name, lower-case
  std::string value;             // a string to find, or a keyword
  uint64_t number = 0;           // LARGER, SMALLER
  int64_t day = 0;               // date keys: days since 1970-01-01
  std::vector<Range> set;        // UID, sequence set
  std::vector<SearchKey> keys;   // NOT (1), OR (2), and a list (any)
  // Whether the key needs the message's octets (header or body keys).
  bool needs_body() const;
  // Whether MODSEQ is among the keys: the answer then says the highest.
  bool uses_modseq() const;
};

// The keys from args[start] on (an implicit AND), after an optional
// CHARSET; the error for a BAD, or "charset" for NO [BADCHARSET].
std::optional<std::string> parse_search(const std::vector<Arg>& args, size_t start, SearchKey& out);

// One message as a search sees it. raw and parsed are asked for only when
// a key needs them.
struct SearchMessage {
  const store::Message& record;
  uint32_t seq = 0;
  uint32_t last_seq = 0, last_uid = 0;  // what '*' means
  std::function<std::string_view()> raw;
  std::function<const mail::ParsedMessage&()> parsed;
  // Decoded text, made once per message for every key that needs it.
  std::optional<std::string> body_text;
  const std::vector<uint32_t>* saved = nullptr;  // UIDs, ascending, for "$"
};

bool matches(const SearchKey& key, SearchMessage& m);

}  // namespace gannet::imap
