#pragma once
// Syslog message parsing shared by `syslogtcp`, `multiport_syslogtcp` and `syslogudp`
// (flume-components.md 1.6; wire rules in docs/formats/syslog.md). Pure functions, no sockets:
// the sources frame the bytes (SyslogTcpFramer below, one datagram for UDP) and call
// parse_syslog_message() on each message.
//
// Parsing is Flume's SyslogUtils (syslogtcp, syslogudp):
//  - `<PRI>` with 1 to 3 digits, else the event is Invalid: headers Facility=0, Severity=0,
//    flume.syslog.status=Invalid, body = the raw message;
//  - the text after a valid PRI is matched against Flume's RFC 5424 regex, then its RFC 3164 regex
//    (same groups, Java regex semantics: `\s` is [ \t\n\v\f\r], `.` stops at line terminators);
//    the first that matches gives `priority`, `version` (when not empty), `timestamp` (epoch ms,
//    when it converts), `host` (unless `-`) and the body (the MSG part with the kept fields in
//    front); no match: Facility and Severity only, body = the raw message with its `<PRI>`;
//  - a message cut at eventSize is flagged flume.syslog.status=Incomplete (and parsed as far as
//    it goes).
// Better than Flume (documented in src/agent/README.md): nothing carries over from one message to
// the next (Flume leaks `priority`/`version` into the next Invalid event); an RFC 3164 date gets
// the year that puts it within 11 months before and 1 month after now (a Dec 31 message received
// on Jan 1 is last year; Flume's roll-forward subtracts a year); an RFC 5424 fraction is a
// fraction (`.5` = 500 ms; Flume reads it as a count of ms) and its zone is applied even with a
// fraction (Flume's first pattern stops before the zone and uses local time); impossible dates
// (month 13, Feb 30, hour 25) give no `timestamp` header (Java's lenient calendar rolls them
// over); bodies keep their bytes (Flume decodes and re-encodes them, turning bad UTF-8 into
// U+FFFD).
// multiport_syslogtcp (Flume's hand-written SyslogParser) uses the same rules with its header
// names `Priority` and `Version`.

#include <climits>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "core/event.h"

namespace ingestor {

class TimeZone;

// keepFields (SyslogUtils.chooseFieldsToKeep): trimmed, lower-cased; `none`/`false`: nothing;
// `all`/`true`: the whole raw message is the body; otherwise each of `priority`, `version`,
// `timestamp`, `hostname` that is a substring of the value is kept in front of the body.
struct SyslogKeepFields {
  bool all = false;
  bool priority = false;
  bool version = false;
  bool timestamp = false;
  bool hostname = false;
  bool any() const { return all || priority || version || timestamp || hostname; }
};
SyslogKeepFields parse_keep_fields(std::string_view value);

enum class SyslogStatus { kOk, kInvalid, kIncomplete };

struct SyslogParserOptions {
  SyslogKeepFields keep;
  // multiport_syslogtcp: `Priority` and `Version` instead of `priority` and `version`.
  bool capitalized_headers = false;
  // Zone of time stamps without an offset (RFC 3164, RFC 5424 without one); null: the system's.
  std::shared_ptr<const TimeZone> zone;
};

// One parsed message. The body is `prefix` followed by input[body_begin, body_end): with no
// prefix (the usual case) it can be a slice of the read buffer.
struct SyslogMessage {
  SyslogStatus status = SyslogStatus::kOk;
  Headers headers;
  std::string prefix;
  size_t body_begin = 0;
  size_t body_end = 0;
};

// The last RFC 3164 stamp converted, kept by a caller that parses a stream of messages (a TCP
// connection): messages that arrive together mostly carry the same stamp (one-second resolution),
// and its conversion (the year rule, zone lookups) costs more than the rest of the parse. The
// result depends only on the text, the zone and the receive time's second, which make the key.
// The zone must outlive the cache (the source's options own it).
struct SyslogStampCache {
  const TimeZone* zone = nullptr;
  int64_t now_s = INT64_MIN;
  char text[24] = {};
  size_t len = 0;
  bool ok = false;
  int64_t ms = 0;
};

// Parses one message `msg` (without its framing: no trailing "\n", no octet count). `truncated`:
// it was cut at eventSize (status Incomplete unless Invalid). `now_ms`: the receive time, for the
// RFC 3164 year. `stamps`: optional, see SyslogStampCache. Never fails: every input gives an
// event.
SyslogMessage parse_syslog_message(std::string_view msg, bool truncated,
                                   const SyslogParserOptions& options, int64_t now_ms,
                                   SyslogStampCache* stamps = nullptr);

// The body as one string (for tests and small producers).
std::string syslog_body(std::string_view msg, const SyslogMessage& m);

// Epoch ms of an RFC 5424 / RFC 3339 stamp as Flume's regex admits it
// (`YYYY-MM-DDThh:mm:ss[.f{1,6}][Z|±hh:mm]`); local time in `zone` without an offset. False for an
// impossible date or time.
bool parse_rfc5424_stamp(std::string_view stamp, const TimeZone& zone, int64_t& out_ms);
// Epoch ms of an RFC 3164 stamp `Mmm d hh:mm:ss` / `Mmm dd hh:mm:ss` in `zone`, with the year that
// puts it no more than 1 month after `now_ms` and no more than 11 months before it.
bool parse_rfc3164_stamp(std::string_view stamp, const TimeZone& zone, int64_t now_ms,
                         int64_t& out_ms);

// TCP framing (docs/formats/syslog.md): RFC 6587 octet counting when a message starts with a
// non-zero digit, at most 8 digits, then a space (`57 <34>1 ...`: the next 57 bytes are the
// message, less one final "\n" that rsyslog puts inside); otherwise the message ends at "\n" (not
// part of it; a "\r" before it stays, as Flume). Empty lines are skipped. A message longer than
// `event_size` bytes is cut: its first event_size bytes are a message with `truncated` set; the
// rest of a newline-framed line goes on as the next message (as Flume), the rest of an
// octet-counted frame is discarded. Memory: the caller keeps at most event_size + 10 unparsed bytes
// for a message (next() asks for no more than that before it returns a message).
struct SyslogFrame {
  size_t begin = 0;  // offsets into the data given to next()
  size_t end = 0;
  bool truncated = false;
};

class SyslogTcpFramer {
 public:
  explicit SyslogTcpFramer(size_t event_size) : event_size_(event_size) {}
  // Looks for the next message at the start of `data` (the bytes not consumed yet). Returns true
  // with `frame` set when one is complete. `consumed` is how many bytes of `data` are done with
  // (the message and its framing, skipped empty lines, discarded bytes), also when it returns
  // false; the caller drops them before the next call.
  bool next(std::string_view data, SyslogFrame& frame, size_t& consumed);
  // At end of stream: the unterminated rest (`data`, what next() left) as a last message, if any.
  bool finish(std::string_view data, SyslogFrame& frame);
  // Bytes of over-long octet-counted frames discarded so far.
  uint64_t discarded() const { return discarded_total_; }

 private:
  size_t event_size_;
  size_t discard_ = 0;         // bytes still to drop from an over-long octet-counted frame
  bool continuation_ = false;  // the rest of a cut line follows: no octet-count detection
  uint64_t discarded_total_ = 0;
};

// The most bytes of one UDP datagram: 65,535 - 8 (UDP header) - 20 (IPv4 header).
inline constexpr size_t kMaxUdpPayload = 65507;

}  // namespace ingestor
