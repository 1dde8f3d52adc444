#include "consumer/verify.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "base/file.h"
#include "base/hash.h"

extern char** environ;

namespace ingestor::consumer {

namespace {

constexpr uint64_t kMiB = 1024 * 1024;

struct Candidate {
  uint64_t part_size;
  uint64_t in_part = 0;
  Md5 part;
  std::string digests;  // concatenated binary part MD5s
};

bool is_hex(std::string_view s) {
  return std::all_of(s.begin(), s.end(),
                     [](char c) { return std::isxdigit(static_cast<unsigned char>(c)); });
}

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// Reads `path` once, feeding the whole-file MD5 (when `whole`) and every candidate.
Status hash_file(const std::string& path, Md5* whole, std::vector<Candidate>& cands,
                 uint64_t* total) {
  auto f = File::open(path, O_RDONLY);
  if (!f) return f.error();
  std::string buf(kMiB, '\0');
  *total = 0;
  for (;;) {
    ssize_t n = ::read(f->fd(), buf.data(), buf.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno_error("read " + path, errno);
    }
    if (n == 0) break;
    std::string_view chunk(buf.data(), static_cast<size_t>(n));
    *total += chunk.size();
    if (whole) whole->update(chunk);
    for (auto& c : cands) {
      std::string_view rest = chunk;
      while (!rest.empty()) {
        uint64_t room = c.part_size - c.in_part;
        size_t take = static_cast<size_t>(std::min<uint64_t>(room, rest.size()));
        c.part.update(rest.substr(0, take));
        c.in_part += take;
        rest.remove_prefix(take);
        if (c.in_part == c.part_size) {
          c.digests += as_bytes(c.part.finish());
          c.part.reset();
          c.in_part = 0;
        }
      }
    }
  }
  for (auto& c : cands) {
    if (c.in_part > 0) {
      c.digests += as_bytes(c.part.finish());
      c.in_part = 0;
    }
  }
  return {};
}

Error wrong_size(uint64_t got, uint64_t size) {
  return make_error(Errc::kCorrupt, "downloaded " + std::to_string(got) +
                                        " bytes, the notification says " + std::to_string(size));
}

Result<Verified> single_part_verdict(const std::string& md5_hex, const std::string& etag) {
  if (md5_hex != etag)
    return make_error(Errc::kCorrupt, "MD5 of the download is " + md5_hex + ", ETag is " + etag);
  return Verified::kMd5;
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
    case Verified::kSizeAndIfMatch:
      return "size+if-match";
  }
  return "?";
}

Result<std::string> multipart_etag(const std::string& path, uint64_t part_size) {
  std::vector<Candidate> c;
  c.push_back(Candidate{part_size, 0, Md5(), {}});
  uint64_t total = 0;
  if (auto st = hash_file(path, nullptr, c, &total); !st) return st.error();
  size_t parts = c[0].digests.size() / 16;
  return to_hex(md5(c[0].digests)) + "-" + std::to_string(parts);
}

Result<Verified> verify_download(const std::string& path, uint64_t size, const std::string& etag_in,
                                 const Md5Digest* streamed, bool etag_is_md5) {
  auto size_only = [&]() -> Status {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) return errno_error("stat " + path, errno);
    if (static_cast<uint64_t>(st.st_size) != size) return wrong_size(st.st_size, size);
    return {};
  };
  if (!etag_is_md5) {
    if (auto s = size_only(); !s) return s.error();
    return Verified::kSizeAndIfMatch;
  }
  std::string etag = lower(etag_in);
  if (etag.size() >= 2 && etag.front() == '"' && etag.back() == '"')
    etag = etag.substr(1, etag.size() - 2);
  auto dash = etag.find('-');
  bool single = etag.size() == 32 && is_hex(etag);
  uint64_t parts = 0;
  if (!single && dash == 32 && is_hex(etag.substr(0, 32))) {
    std::string n = etag.substr(33);
    if (!n.empty() && n.size() < 6 && std::all_of(n.begin(), n.end(), ::isdigit))
      parts = std::stoull(n);
  }
  if (single && streamed) {
    if (auto s = size_only(); !s) return s.error();
    return single_part_verdict(to_hex(*streamed), etag);
  }
  std::vector<Candidate> cands;
  if (parts > 0 && size > 0) {
    std::vector<uint64_t> sizes;
    for (uint64_t m : {5, 8, 16, 32, 64, 128, 256, 512}) sizes.push_back(m * kMiB);
    sizes.push_back((size / parts + kMiB - 1) / kMiB * kMiB);
    std::sort(sizes.begin(), sizes.end());
    sizes.erase(std::unique(sizes.begin(), sizes.end()), sizes.end());
    for (uint64_t p : sizes)
      if (p > 0 && (size + p - 1) / p == parts) cands.push_back(Candidate{p, 0, Md5(), {}});
  }
  Md5 whole;
  uint64_t total = 0;
  if (auto st = hash_file(path, single ? &whole : nullptr, cands, &total); !st) return st.error();
  if (total != size) return wrong_size(total, size);
  if (single) return single_part_verdict(to_hex(whole.finish()), etag);
  for (auto& c : cands) {
    if (to_hex(md5(c.digests)) + "-" + std::to_string(parts) == etag)
      return Verified::kMultipartMd5;
  }
  return Verified::kSizeAndIfMatch;
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
