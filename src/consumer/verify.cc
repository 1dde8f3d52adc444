#include "consumer/verify.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>

#include "base/file.h"
#include "base/hash.h"

extern char** environ;

namespace ingestor::consumer {

namespace {

constexpr size_t kReadChunk = 1024 * 1024;

bool is_hex(std::string_view s) {
  return std::all_of(s.begin(), s.end(),
                     [](char c) { return std::isxdigit(static_cast<unsigned char>(c)); });
}

std::string lower(std::string_view in) {
  std::string s(in);
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

}  // namespace

const char* verified_name(Verified v) {
  switch (v) {
    case Verified::kChecksum:
      return "checksum";
    case Verified::kMd5:
      return "md5";
    case Verified::kMultipartMd5:
      return "multipart-md5";
  }
  return "?";
}

EtagForm parse_etag(std::string_view in) {
  EtagForm f;
  if (in.size() >= 2 && in.front() == '"' && in.back() == '"') in = in.substr(1, in.size() - 2);
  f.etag = lower(in);
  const std::string& e = f.etag;
  if (e.size() == 32 && is_hex(e)) {
    f.kind = EtagForm::kMd5;
  } else if (e.size() > 33 && e.size() <= 38 && e[32] == '-' && is_hex(e.substr(0, 32))) {
    std::string_view n = std::string_view(e).substr(33);
    int parts = 0;
    auto [ptr, ec] = std::from_chars(n.data(), n.data() + n.size(), parts);
    if (ec == std::errc() && ptr == n.data() + n.size() && n[0] != '0' && parts >= 1 &&
        parts <= 10000) {
      f.kind = EtagForm::kMultipart;
      f.parts = parts;
    }
  }
  return f;
}

Status check_md5(const Md5Digest& body, const EtagForm& etag) {
  std::string got = to_hex(body);
  if (etag.kind != EtagForm::kMd5 || got != etag.etag)
    return make_error(Errc::kCorrupt, "MD5 of the download is " + got + ", ETag is " + etag.etag);
  return {};
}

Result<std::string> multipart_etag(const std::string& path,
                                   const std::vector<uint64_t>& part_sizes) {
  auto f = File::open(path, O_RDONLY);
  if (!f) return f.error();
  std::string buf(kReadChunk, '\0');
  std::string digests;
  uint64_t total = 0;
  for (uint64_t part : part_sizes) {
    Md5 h;
    for (uint64_t left = part; left > 0;) {
      ssize_t n =
          ::read(f->fd(), buf.data(), static_cast<size_t>(std::min<uint64_t>(left, kReadChunk)));
      if (n < 0) {
        if (errno == EINTR) continue;
        return errno_error("read " + path, errno);
      }
      if (n == 0)
        return make_error(Errc::kCorrupt, "the download has " + std::to_string(total) +
                                              " bytes, fewer than its parts");
      h.update(std::string_view(buf.data(), static_cast<size_t>(n)));
      left -= static_cast<uint64_t>(n);
      total += static_cast<uint64_t>(n);
    }
    digests += as_bytes(h.finish());
  }
  for (;;) {
    ssize_t n = ::read(f->fd(), buf.data(), 1);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return errno_error("read " + path, errno);
    if (n > 0)
      return make_error(Errc::kCorrupt, "the download has more bytes than its parts (" +
                                            std::to_string(total) + ")");
    break;
  }
  return to_hex(md5(digests)) + "-" + std::to_string(part_sizes.size());
}

Result<std::string> multipart_etag(const std::string& path, uint64_t part_size) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return errno_error("stat " + path, errno);
  if (part_size == 0) return make_error(Errc::kInvalidArgument, "part size 0");
  std::vector<uint64_t> sizes;
  for (uint64_t left = static_cast<uint64_t>(st.st_size); left > 0;) {
    sizes.push_back(std::min(left, part_size));
    left -= sizes.back();
  }
  return multipart_etag(path, sizes);
}

std::vector<std::string> split_command(const std::string& cmd) {
  std::vector<std::string> out;
  std::string cur;
  for (char c : cmd) {
    if (c == ' ' || c == '\t') {
      if (!cur.empty()) out.push_back(std::move(cur));
      cur.clear();
    } else {
      cur += c;
    }
  }
  if (!cur.empty()) out.push_back(std::move(cur));
  return out;
}

Result<int> run_exec(const std::vector<std::string>& argv_in, const std::string& path) {
  if (argv_in.empty()) return make_error(Errc::kConfig, "--exec: empty command");
  std::vector<std::string> args = argv_in;
  args.push_back(path);
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  // The child starts with no blocked signals and SIGPIPE at its default, whatever this
  // process blocks or ignores (the CLI blocks SIGINT/SIGTERM and ignores SIGPIPE).
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t none, defaults;
  sigemptyset(&none);
  sigemptyset(&defaults);
  sigaddset(&defaults, SIGPIPE);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setsigdefault(&attr, &defaults);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  pid_t pid = 0;
  int rc = ::posix_spawnp(&pid, argv[0], nullptr, &attr, argv.data(), environ);
  posix_spawnattr_destroy(&attr);
  if (rc != 0) return errno_error("--exec " + args[0], rc);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return errno_error("waitpid", errno);
  }
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

}  // namespace ingestor::consumer
