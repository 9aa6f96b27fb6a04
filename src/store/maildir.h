// The formats mail moves into and out of Gannet in: Maildir++ as Dovecot
// writes it (iRedMail), and mboxrd (mutt, Thunderbird, Google Takeout).
// Pure functions over names and bytes; gannetctl's import/export does the
// file I/O.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace gannet::store::maildir {

// --- Maildir file names: "<unique>:2,<flags>" ---

// IMAP's flags and keywords of one message, as a file name spells them.
struct Flags {
  uint32_t flags = 0;  // FLAG_SEEN, ... (store/records.h)
  std::vector<std::string> keywords;
  std::string unknown;  // letters neither Maildir nor the keyword table explains
  bool operator==(const Flags&) const = default;
};

// Dovecot's per-folder dovecot-keywords file: "<index> <name>" lines, index 0
// being the letter 'a'. [i] is letter 'a' + i; "" an unused letter.
using KeywordTable = std::vector<std::string>;
constexpr size_t kMaxKeywordLetters = 26;
KeywordTable parse_keywords_file(std::string_view text);
std::string format_keywords_file(const KeywordTable&);
// The keyword's letter, added to the table when new; 0 once all 26 are taken.
char keyword_letter(KeywordTable&, std::string_view keyword);

// Dovecot's per-folder dovecot-uidlist (version 3): a header with the
// folder's UIDVALIDITY and next UID, then "<uid> :<file name before :2,>"
// lines, so that a Dovecot reading the export keeps every UID and IMAP
// clients need not fetch the mailbox again.
struct UidEntry {
  uint32_t uid;
  std::string unique;
};
std::string format_uidlist(uint32_t uidvalidity, uint32_t uidnext, const std::vector<UidEntry>& entries);
// The same read back, for import: nullopt unless a version 3 header with
// V and N starts it. Lines may carry extension fields before " :name";
// lines that do not parse are left out.
struct Uidlist {
  uint32_t uidvalidity = 0, uidnext = 0;
  std::map<std::string, uint32_t, std::less<>> uids;  // file name before ":2," -> UID
};
std::optional<Uidlist> parse_uidlist(std::string_view text);

// The flags after the last ":2," (none without one, as in new/). D draft,
// F flagged, R replied, S seen, T trashed; P (passed, i.e. forwarded) has no
// IMAP flag and becomes the $Forwarded keyword; a-z are keywords by table.
Flags parse_filename(std::string_view name, const KeywordTable&);
// unique + ":2," + the letters in ASCII order, as the Maildir spec wants.
// Keywords that find no letter (a full table) are left out and counted in
// *dropped.
std::string make_filename(std::string_view unique, uint32_t flags, const std::vector<std::string>& keywords,
                          KeywordTable&, size_t* dropped = nullptr);

// --- Maildir++ folders: ".Sub.Folder" is mailbox "Sub/Folder" ---
// Each level is modified UTF-7 (".Entw&APw-rfe" is "Entwürfe"); a level that
// is not, but is UTF-8, is taken as it is (Dovecot's mailbox_list_utf8).
// A "." or "\" inside a level is Dovecot's listescape "\2e", "\5c".

// Empty for a name that is no folder ("", ".", "..", undecodable).
std::optional<std::string> folder_to_mailbox(std::string_view dir);
// "" for INBOX, the Maildir's root; empty for a name no folder can spell.
std::optional<std::string> mailbox_to_folder(std::string_view mailbox);

// --- Dovecot's subscriptions file, at the Maildir's root ---
// Version 2 ("V\t2\n\n" first): a mailbox a line, its levels separated by
// tabs, a tab, CR, LF or \001 inside a level escaped as \001 + 't', 'r',
// 'n', '1'. Version 1 (no header; what a fresh Dovecot writes): the levels
// separated by '.'. Either way each level is spelled as in a folder name
// (modified UTF-7), and "INBOX" in any case is INBOX.

// Version 2; a name no folder can spell is left out.
std::string format_subscriptions(const std::vector<std::string>& mailboxes);
// The mailboxes' names, UTF-8 with '/' between levels; lines that do not
// decode are left out.
std::vector<std::string> parse_subscriptions(std::string_view text);

// --- mboxrd ---
// A message starts at a "From " line at the start of the file or after a
// blank line; that blank line separates and belongs to no message. Lines
// matching ">*From " carry one '>' more in the file than in the message.
// LF and CRLF files alike; message bytes are kept as they are.

struct MboxMessage {
  std::string data;               // the message, quoting undone
  std::optional<int64_t> date;    // from the From_ line (unix seconds)
};

// One message at a time, so a large mbox needs one message's memory.
class MboxReader {
 public:
  explicit MboxReader(std::string_view file) : in_(file) {}
  // Whether the text is an mbox: empty, or starting with a From_ line.
  bool valid() const { return in_.empty() || in_.starts_with("From "); }
  bool next(MboxMessage& out);

 private:
  std::string_view in_;
  size_t pos_ = 0;
};

// The date of "From sender Thu Jan  1 00:00:00 2024" (asctime, in UTC, with
// an optional numeric or named zone before or after the year).
std::optional<int64_t> parse_from_line_date(std::string_view line);
// A message as an mboxrd entry: From_ line, quoted lines, a final line break
// and the blank line. Line breaks follow the message's (CRLF or LF).
// MboxReader gives back the message exactly when it ends with a line break
// or is empty (the writer must end its last line).
std::string mbox_entry(std::string_view message, std::string_view sender, int64_t date);
// Flags from mutt/Thunderbird "Status:" (R seen) and "X-Status:" (A
// answered, F flagged, D deleted, T draft) header fields.
uint32_t mbox_status_flags(std::string_view message);

}  // namespace gannet::store::maildir
