// One pass over the lines of the message. The parts whose end is not known
// yet form a chain (open_), top part first. A line is, in order of
// precedence: a boundary line of an open multipart (ends every part inside
// that multipart), a header line of the innermost part, or body.
#include "mail/message_parser.h"

#include <algorithm>
#include <iterator>

#include "mail/header.h"
#include "mail/lexer.h"

namespace gannet::mail {

namespace {

constexpr uint32_t none = Part::none;

// RFC 2046 allows 70 characters; be lenient, but a boundary is compared
// against every "--" line, so keep it short.
constexpr size_t max_boundary = 200;

void make_opaque(Part& p) {
  p.type = "text";
  p.subtype = "plain";
  p.params.clear();
  p.opaque = true;
}

// The Content-* fields of a part, each from its first occurrence; `value`
// is unfolded. `left` is what remains of Limits::max_params; a list field
// takes its entries from it.
struct PartField {
  std::string_view name;
  void (*apply)(Part&, std::string&& value, size_t& left);
};

template <class T>
void charge(size_t& left, const std::vector<T>& taken) {
  left -= taken.size();
}

const PartField part_fields[] = {
    {"content-type",
     [](Part& p, std::string&& v, size_t& left) {
       if (parse_content_type(v, p.type, p.subtype, p.params, left)) charge(left, p.params);
     }},
    {"content-transfer-encoding",
     [](Part& p, std::string&& v, size_t&) {
       if (std::string t = parse_token(v); !t.empty()) p.encoding = std::move(t);
     }},
    {"content-id", [](Part& p, std::string&& v, size_t&) { p.id = std::move(v); }},
    {"content-description", [](Part& p, std::string&& v, size_t&) { p.description = std::move(v); }},
    {"content-disposition",
     [](Part& p, std::string&& v, size_t& left) {
       if (parse_disposition(v, p.disposition, p.disposition_params, left)) charge(left, p.disposition_params);
     }},
    {"content-language",
     [](Part& p, std::string&& v, size_t& left) {
       p.language = parse_language(v, left);
       charge(left, p.language);
     }},
    {"content-location", [](Part& p, std::string&& v, size_t&) { p.location = std::move(v); }},
    {"content-md5", [](Part& p, std::string&& v, size_t&) { p.md5 = std::move(v); }},
};
static_assert(std::size(part_fields) <= 32, "seen_ is a 32-bit mask");

class Parser {
 public:
  Parser(std::string_view in, const Limits& limits, ParsedMessage& out)
      : in_(in), limits_(limits), out_(out), addresses_left_(limits.max_addresses), params_left_(limits.max_params) {}

  void run() {
    out_.size = in_.size();
    start_part(none, 0, 0);
    while (pos_ < in_.size()) {
      Line line = line_at(in_, pos_);
      size_t k = 0;
      bool close = false;
      if (find_delimiter(line, k, close))
        delimiter(line, k, close);
      else if (state_ == State::header)
        header_line(line);
      else
        advance(line);
    }
    // A header cut short by the end; an empty embedded message may follow.
    while (state_ == State::header) {
      flush_field();
      end_header(in_.size(), in_.size(), lf_);
    }
    close_open(0, in_.size(), in_.size(), lf_);
  }

 private:
  enum class State { header, body };

  struct Open {
    uint32_t part;
    uint32_t depth;
    uint64_t body_lf = 0;   // line feeds before body_start
    std::string boundary;   // a multipart's, while its boundary lines count
  };

  void advance(const Line& l) {
    pos_ = l.next;
    if (l.has_break()) lf_++;
  }

  void start_part(uint32_t parent, uint32_t depth, size_t header_start) {
    auto idx = static_cast<uint32_t>(out_.parts.size());
    Part& p = out_.parts.emplace_back();
    p.parent = parent;
    p.header_start = header_start;
    if (parent == none || out_.parts[parent].message()) {
      p.envelope = static_cast<uint32_t>(out_.envelopes.size());
      out_.envelopes.emplace_back();
    } else if (out_.parts[parent].subtype == "digest") {  // RFC 2046 5.1.5
      p.type = "message";
      p.subtype = "rfc822";
    }
    if (parent != none) out_.parts[parent].children++;
    open_.push_back({idx, depth, 0, {}});
    state_ = State::header;
    header_lines_ = 0;
    seen_ = 0;
    field_ = false;
    truncated_ = false;
  }

  void header_line(const Line& l) {
    if (l.blank()) {
      flush_field();
      advance(l);
      end_header(l.start, pos_, lf_);
      return;
    }
    if (header_lines_ == limits_.max_header_lines) {  // the rest is body
      flush_field();
      truncated_ = true;
      end_header(l.start, l.start, lf_);
      return;
    }
    header_lines_++;
    if (!field_ || !is_wsp(in_[l.start])) {  // else a folded continuation
      flush_field();
      field_ = true;
      field_start_ = l.start;
    }
    field_end_ = l.end;
    advance(l);
  }

  void flush_field() {
    if (!field_) return;
    field_ = false;
    std::string_view name, value;
    if (!split_field(in_.substr(field_start_, field_end_ - field_start_), name, value)) return;
    Part& p = out_.parts[open_.back().part];
    for (uint32_t f = 0; f < std::size(part_fields); f++) {
      if (!iequals(name, part_fields[f].name)) continue;
      if (!(seen_ & 1u << f)) {
        seen_ |= 1u << f;
        part_fields[f].apply(p, unfold(value), params_left_);
      }
      return;
    }
    if (p.envelope != none) set_envelope_field(out_.envelopes[p.envelope], name, value, addresses_left_);
  }

  // The header of the innermost part is complete: its type decides what its
  // body is.
  void end_header(size_t header_end, size_t body_start, uint64_t body_lf) {
    Open& o = open_.back();
    Part& p = out_.parts[o.part];
    p.header_end = header_end;
    p.body_start = body_start;
    o.body_lf = body_lf;
    state_ = State::body;
    if (truncated_) {
      make_opaque(p);
    } else if (p.multipart()) {
      const Param* b = find_param(p.params, "boundary");
      if (b && !b->value.empty() && b->value.size() <= max_boundary && o.depth < limits_.max_depth)
        o.boundary = b->value;
      else
        make_opaque(p);
    } else if (p.message()) {
      if (o.depth < limits_.max_depth && out_.parts.size() < limits_.max_parts)
        start_part(o.part, o.depth + 1, body_start);
      else
        make_opaque(p);
    }
  }

  // "--boundary" at the start of a line. As in Dovecot, the boundary need
  // only be a prefix of the rest of the line, and the longest matching one
  // wins (the innermost if two are equal), so nested multiparts that reuse
  // or extend a boundary still split right.
  bool find_delimiter(const Line& l, size_t& k, bool& close) const {
    if (stopped_ || l.end - l.start < 2 || in_[l.start] != '-' || in_[l.start + 1] != '-') return false;
    std::string_view rest = in_.substr(l.start + 2, l.end - l.start - 2);
    size_t best_len = 0;
    for (size_t j = open_.size(); j-- > 0;) {
      const std::string& b = open_[j].boundary;
      if (b.size() > best_len && rest.substr(0, b.size()) == b) {
        k = j;
        best_len = b.size();
      }
    }
    if (best_len == 0) return false;
    close = rest.substr(best_len, 2) == "--";
    return true;
  }

  void delimiter(const Line& l, size_t k, bool close) {
    // The line break before a boundary line belongs to the boundary.
    size_t at = l.start, before = at;
    if (at > 0 && in_[at - 1] == '\n') before = at - 1 - (at >= 2 && in_[at - 2] == '\r');
    uint64_t lf_before = before < at ? lf_ - 1 : lf_;
    while (state_ == State::header) {  // a header the boundary cut short
      flush_field();
      if (out_.parts[open_.back().part].header_start >= at)
        end_header(at, at, lf_);
      else
        end_header(before, before, lf_before);
    }
    close_open(k + 1, before, at, lf_before);
    advance(l);
    if (close) {  // what follows is the epilogue: this boundary is done
      open_[k].boundary.clear();
      return;
    }
    if (out_.parts.size() >= limits_.max_parts) {  // the rest is the multipart's body
      stopped_ = true;
      return;
    }
    start_part(open_[k].part, open_[k].depth + 1, pos_);
  }

  // Ends the open parts from index `keep` on, innermost first, at `before`
  // (which is `at`, or `at` less a line break). A part ends no earlier than
  // its body starts or its last child ends.
  void close_open(size_t keep, size_t before, size_t at, uint64_t lf_before) {
    uint64_t child_end = 0;
    while (open_.size() > keep) {
      Open& o = open_.back();
      Part& p = out_.parts[o.part];
      uint64_t end = std::max<uint64_t>({before, p.body_start, child_end});
      uint64_t lf_end = end < at ? lf_before : lf_;
      p.body_end = end;
      p.lines = lf_end - o.body_lf;
      p.end = static_cast<uint32_t>(out_.parts.size());
      if (p.multipart() && p.children == 0) make_opaque(p);  // no boundary line came
      child_end = end;
      open_.pop_back();
    }
  }

  std::string_view in_;
  const Limits& limits_;
  ParsedMessage& out_;
  size_t addresses_left_;
  size_t params_left_;
  std::vector<Open> open_;
  State state_ = State::header;
  size_t pos_ = 0;       // start of the next line
  uint64_t lf_ = 0;      // line feeds before pos_
  bool stopped_ = false; // max_parts reached: no more boundary lines
  // The header block being read.
  uint32_t header_lines_ = 0;
  uint32_t seen_ = 0;    // part_fields already taken
  bool truncated_ = false;
  bool field_ = false;
  size_t field_start_ = 0, field_end_ = 0;
};

}  // namespace

ParsedMessage parse_message(std::string_view message, const Limits& limits) {
  ParsedMessage out;
  Parser(message, limits, out).run();
  return out;
}

}  // namespace gannet::mail
