// The import/export formats on arbitrary bytes, with the round trips that
// must hold: Maildir flag letters, Maildir++ folder names, modified UTF-7,
// mboxrd, dovecot-uidlist and Dovecot's subscriptions file. The same input feeds each; one that breaks a property aborts.
#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "store/maildir.h"
#include "store/mutf7.h"

using namespace gannet::store;
using gannet::valid_utf8;
using namespace gannet::store::maildir;

namespace {

void check(bool ok) {
  if (!ok) abort();
}

// Keywords as IMAP compares them: no order, no case.
std::vector<std::string> folded(std::vector<std::string> kws) {
  for (auto& k : kws)
    for (char& c : k) c = c >= 'A' && c <= 'Z' ? char(c - 'A' + 'a') : c;
  std::sort(kws.begin(), kws.end());
  return kws;
}

void flags(std::string_view in) {
  // Up to the last line break a dovecot-keywords file, then a file name.
  size_t nl = in.rfind('\n');
  KeywordTable table = parse_keywords_file(in.substr(0, nl == std::string_view::npos ? 0 : nl));
  check(table.size() <= kMaxKeywordLetters);
  std::string_view name = nl == std::string_view::npos ? in : in.substr(nl + 1);
  Flags f = parse_filename(name, table);
  // Writing the flags down and reading them back changes nothing.
  KeywordTable out = table;
  size_t dropped = 0;
  std::string again = make_filename("unique", f.flags, f.keywords, out, &dropped);
  check(dropped == 0);  // every keyword came from the table, so it has a letter
  check(out.size() <= kMaxKeywordLetters);
  Flags back = parse_filename(again, out);
  check(back.flags == f.flags && folded(back.keywords) == folded(f.keywords) && back.unknown.empty());
  check(parse_keywords_file(format_keywords_file(out)) == out);
}

void names(std::string_view in) {
  if (auto utf8 = mutf7_decode(in)) {
    check(valid_utf8(*utf8));
    check(mutf7_encode(*utf8) == std::string(in));  // one spelling per name
  }
  if (auto enc = mutf7_encode(in)) {
    check(valid_utf8(in));
    check(mutf7_decode(*enc) == std::string(in));
  } else {
    check(!valid_utf8(in));
  }
  if (auto dir = mailbox_to_folder(in)) {
    check(dir->find('/') == std::string::npos && *dir != "." && *dir != "..");
    check(dir->empty() ? in == "INBOX" : folder_to_mailbox(*dir) == std::string(in));
  }
  if (auto mailbox = folder_to_mailbox(in)) check(valid_utf8(*mailbox));
}

void mbox(std::string_view in) {
  // Whatever the reader makes of the input, writing each message out as an
  // entry and reading the result gives the same messages back.
  MboxReader reader(in);
  MboxMessage m;
  std::string file;
  std::vector<std::string> messages;
  size_t total = 0;
  while (reader.next(m)) {
    // A date the From_ line can spell (four-digit years) reads back the same.
    if (m.date && *m.date >= 0 && *m.date < 253402214400) {
      std::string entry = mbox_entry("", "s", *m.date);
      MboxReader one(entry);
      MboxMessage d;
      check(one.next(d) && d.date == m.date);
    }
    total += m.data.size();
    check(total <= in.size());  // quoting only ever shrinks
    if (!m.data.empty() && !m.data.ends_with('\n')) m.data += '\n';  // what the writer adds
    file += mbox_entry(m.data, "fuzz@example.test", m.date.value_or(0));
    messages.push_back(m.data);
  }
  MboxReader again(file);
  check(again.valid());
  for (auto& want : messages) {
    check(again.next(m));
    check(m.data == want);
  }
  check(!again.next(m));
  mbox_status_flags(in);
}

}  // namespace

// A dovecot-uidlist: what is read back writes the same list again.
void uidlist(std::string_view in) {
  auto l = parse_uidlist(in);
  if (!l) return;
  check(l->uidvalidity != 0 && l->uidnext != 0);
  std::vector<UidEntry> entries;
  for (auto& [name, uid] : l->uids) {
    check(uid != 0 && !name.empty());
    if (name.find_first_of("\r\n") == std::string::npos) entries.push_back({uid, name});
  }
  auto again = parse_uidlist(format_uidlist(l->uidvalidity, l->uidnext, entries));
  check(again && again->uidvalidity == l->uidvalidity && again->uidnext == l->uidnext);
  check(again->uids.size() == entries.size());
}

// A subscriptions file: the names read back are valid UTF-8 mailbox names,
// and writing them and reading them again gives the same list.
void subscriptions(std::string_view in) {
  auto names = parse_subscriptions(in);
  for (auto& n : names) check(valid_utf8(n) && !n.empty() && n.front() != '/' && n.back() != '/');
  check(parse_subscriptions(format_subscriptions(names)) == names);
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  flags(in);
  names(in);
  mbox(in);
  uidlist(in);
  subscriptions(in);
  return 0;
}
