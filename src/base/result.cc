#include "base/result.h"

#include <cstring>
#include <stdexcept>

namespace ingestor {

const char* errc_name(Errc c) {
  switch (c) {
    case Errc::kOk: return "ok";
    case Errc::kInvalidArgument: return "invalid argument";
    case Errc::kConfig: return "configuration error";
    case Errc::kChannelFull: return "channel full";
    case Errc::kChannelClosed: return "channel closed";
    case Errc::kTooLarge: return "too large";
    case Errc::kIo: return "I/O error";
    case Errc::kUnavailable: return "unavailable";
    case Errc::kTimeout: return "timeout";
    case Errc::kAuth: return "authentication failed";
    case Errc::kNotFound: return "not found";
    case Errc::kConflict: return "conflict";
    case Errc::kCorrupt: return "corrupt data";
    case Errc::kUnsupported: return "unsupported";
    case Errc::kInternal: return "internal error";
  }
  return "unknown";
}

bool is_retryable(Errc c) {
  switch (c) {
    case Errc::kChannelFull:
    case Errc::kIo:
    case Errc::kUnavailable:
    case Errc::kTimeout:
      return true;
    default:
      return false;
  }
}

void throw_exception_from_error(const Error& e, const boost::source_location&) {
  throw std::runtime_error(std::string(errc_name(e.code)) + ": " + e.message);
}

Error errno_error(const std::string& context, int err) {
  Errc c = Errc::kIo;
  if (err == ENOENT) c = Errc::kNotFound;
  if (err == EACCES || err == EPERM) c = Errc::kAuth;
  return Error(c, context + ": " + std::strerror(err));
}

Error io_error(const std::string& context, const std::error_code& ec) {
  return Error(Errc::kIo, context + ": " + ec.message());
}

}  // namespace ingestor
