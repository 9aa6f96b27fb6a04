#include "mail/envelope.h"

#include "mail/header.h"
#include "mail/lexer.h"

namespace gannet::mail {

const std::array<EnvelopeField, 10> envelope_fields = {{
    {"date", &Envelope::date, nullptr},
    {"subject", &Envelope::subject, nullptr},
    {"from", &Envelope::from, &Envelope::from_list},
    {"sender", &Envelope::sender, &Envelope::sender_list},
    {"reply-to", &Envelope::reply_to, &Envelope::reply_to_list},
    {"to", &Envelope::to, &Envelope::to_list},
    {"cc", &Envelope::cc, &Envelope::cc_list},
    {"bcc", &Envelope::bcc, &Envelope::bcc_list},
    {"in-reply-to", &Envelope::in_reply_to, nullptr},
    {"message-id", &Envelope::message_id, nullptr},
}};

bool set_envelope_field(Envelope& env, std::string_view name, std::string_view value, size_t& max_addresses) {
  for (const EnvelopeField& f : envelope_fields) {
    if (!iequals(name, f.name)) continue;
    if (env.*f.raw) return false;  // a repeated field: the first one counts
    env.*f.raw = unfold(value);
    if (f.list) {
      env.*f.list = parse_address_list(*(env.*f.raw), max_addresses);
      max_addresses -= (env.*f.list).size();
    }
    return true;
  }
  return false;
}

}  // namespace gannet::mail
