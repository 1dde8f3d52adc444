#pragma once
// Result<T>: the project's typed result. Functions that can fail on data paths return
// Result<T> instead of throwing; an Error carries a code from one module's enum and a message
// written for the operator (it names the component, the key, the file...).

#include <string>
#include <system_error>
#include <utility>

#include <boost/system/result.hpp>

namespace ingestor {

// Error codes shared by every module. A module may add its own enum later; these cover the
// classification the runners need (retryable or fatal) and the common causes.
enum class Errc {
  kOk = 0,
  kInvalidArgument,   // bad input from a client or a caller
  kConfig,            // bad configuration (fatal at start)
  kChannelFull,       // the channel has no room now (retryable: push back)
  kChannelClosed,     // the channel is stopping
  kTooLarge,          // over a configured limit
  kIo,                // file system or socket error (retryable)
  kUnavailable,       // destination down, 5xx, throttled (retryable)
  kTimeout,           // deadline passed (retryable)
  kAuth,              // credentials or signature rejected (fatal)
  kNotFound,
  kConflict,          // precondition failed, already exists
  kCorrupt,           // checksum mismatch, torn record
  kUnsupported,
  kInternal,
};

const char* errc_name(Errc c);

// True for failures that a retry with backoff may cure.
bool is_retryable(Errc c);

struct Error {
  Errc code = Errc::kInternal;
  std::string message;

  Error() = default;
  Error(Errc c, std::string msg) : code(c), message(std::move(msg)) {}
  bool retryable() const { return is_retryable(code); }
};

// Called by boost::system::result::value() on an error: we never use value() on an error in
// production code, but tests do, and an exception with the message is the useful behaviour.
[[noreturn]] void throw_exception_from_error(const Error& e, const boost::source_location& loc);

template <class T>
using Result = boost::system::result<T, Error>;
using Status = boost::system::result<void, Error>;

inline Error make_error(Errc c, std::string msg) { return Error(c, std::move(msg)); }

// An Error from errno (or an std::error_code) with a context prefix: "open /x: No such file".
Error errno_error(const std::string& context, int err);
Error io_error(const std::string& context, const std::error_code& ec);

}  // namespace ingestor
