#include "mail/address.h"

#include "mail/lexer.h"

namespace gannet::mail {

namespace {

// A word of a phrase or local part: an atom, a quoted string, or a '.'.
struct Word {
  std::string text;
  bool spaced = false;  // white space or a comment came before it
  bool dot = false;
};

class Reader {
 public:
  Reader(std::string_view s, size_t max, std::vector<Address>& out) : s_(s), max_(max), limit_(max), out_(out) {}

  void list() {
    while (i_ < s_.size() && out_.size() < max_) {
      skip_cfws(s_, i_);
      if (i_ >= s_.size()) break;
      if (s_[i_] == ',' || s_[i_] == ';') {
        i_++;
        continue;
      }
      size_t before = i_;
      address(false);
      if (i_ == before) i_++;  // a character no rule takes: drop it
    }
  }

 private:
  char peek() const { return i_ < s_.size() ? s_[i_] : '\0'; }

  // phrase = *(atom / quoted-string / "."), the obsolete dots included.
  std::vector<Word> phrase() {
    std::vector<Word> words;
    for (;;) {
      size_t before = i_;
      skip_cfws(s_, i_);
      if (i_ >= s_.size()) break;
      Word w;
      w.spaced = i_ > before;
      char c = s_[i_];
      if (c == '"') {
        read_quoted(s_, i_, w.text);
      } else if (c == '.') {
        w.text = ".";
        w.dot = true;
        i_++;
      } else if (is_atext(c)) {
        w.text = read_run(s_, i_, is_atext);
      } else {
        break;
      }
      words.push_back(std::move(w));
    }
    return words;
  }

  static std::string join(const std::vector<Word>& w, size_t from, size_t to) {
    std::string out;
    for (size_t k = from; k < to; k++) {
      if (k > from && w[k].spaced && !w[k].dot) out += ' ';
      out += w[k].text;
    }
    return out;
  }

  // "John Doe john.doe@x": the local part is the last run of words not
  // separated by white space; what comes before it is the display name.
  static size_t local_start(const std::vector<Word>& w) {
    size_t k = w.size();
    while (k > 0) {
      k--;
      if (w[k].spaced && !w[k].dot) break;
    }
    return k;
  }

  // domain = dot-atom / domain-literal, with CFWS between the pieces.
  std::string domain(std::string* comment) {
    std::string d;
    for (;;) {
      skip_cfws(s_, i_, comment);
      if (peek() == '[')
        d += read_domain_literal(s_, i_);
      else
        d += read_run(s_, i_, is_atext);
      skip_cfws(s_, i_, comment);
      if (peek() != '.') return d;
      d += '.';
      i_++;
    }
  }

  // Within a group one slot stays free for its end marker.
  void emit(Address a) {
    if (out_.size() < limit_ || a.kind == Address::Kind::group_end) out_.push_back(std::move(a));
  }

  void address(bool in_group) {
    std::vector<Word> words = phrase();
    skip_cfws(s_, i_);
    char c = peek();
    if (c == '<') {
      angle_addr(join(words, 0, words.size()));
    } else if (c == ':' && !in_group && !words.empty()) {
      i_++;
      group(join(words, 0, words.size()));
    } else if (c == '@' || !words.empty()) {
      // addr-spec, or a local part alone ("root", "undisclosed-recipients").
      Address a;
      size_t k = local_start(words);
      a.name = join(words, 0, k);
      a.mailbox = join(words, k, words.size());
      if (c == '@') {
        i_++;
        std::string comment;
        a.host = domain(&comment);
        if (a.name.empty()) a.name = std::move(comment);
      }
      emit(std::move(a));
    }
  }

  // angle-addr = "<" [obs-route] addr-spec ">"
  void angle_addr(std::string name) {
    Address a;
    a.name = std::move(name);
    i_++;
    skip_cfws(s_, i_);
    if (peek() == '@') {  // obs-route = 1*("," / "@" domain) ":"
      while (peek() == '@' || peek() == ',') {
        if (s_[i_++] == ',') {
          skip_cfws(s_, i_);
          continue;
        }
        if (!a.adl.empty()) a.adl += ',';
        a.adl += '@' + domain(nullptr);
      }
      if (peek() == ':') i_++;
    }
    std::vector<Word> local = phrase();
    a.mailbox = join(local, 0, local.size());
    skip_cfws(s_, i_);
    if (peek() == '@') {
      i_++;
      a.host = domain(nullptr);
    }
    // Whatever is left before '>' is junk; a missing '>' ends at the next
    // separator so the following address survives.
    while (i_ < s_.size() && s_[i_] != '>' && s_[i_] != ',' && s_[i_] != ';') i_++;
    if (peek() == '>') i_++;
    emit(std::move(a));
  }

  // group = display-name ":" [group-list] ";"
  void group(std::string name) {
    Address start;
    start.kind = Address::Kind::group_start;
    start.mailbox = std::move(name);
    if (out_.size() + 2 > max_) {  // no room for it: the list is full
      i_ = s_.size();
      return;
    }
    emit(std::move(start));
    limit_ = max_ - 1;
    while (i_ < s_.size() && out_.size() < limit_) {
      skip_cfws(s_, i_);
      if (i_ >= s_.size()) break;
      if (s_[i_] == ';') {
        i_++;
        break;
      }
      if (s_[i_] == ',') {
        i_++;
        continue;
      }
      size_t before = i_;
      address(true);
      if (i_ == before) i_++;
    }
    Address end;
    end.kind = Address::Kind::group_end;
    emit(std::move(end));
    limit_ = max_;
  }

  std::string_view s_;
  size_t i_ = 0;
  size_t max_;
  size_t limit_;
  std::vector<Address>& out_;
};

}  // namespace

std::vector<Address> parse_address_list(std::string_view value, size_t max) {
  std::vector<Address> out;
  Reader(value, max, out).list();
  return out;
}

}  // namespace gannet::mail
