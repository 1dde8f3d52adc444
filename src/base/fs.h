#pragma once
// Fs: a small filesystem seam for durable formats (the file channel's WAL and checkpoints).
//
// Production code uses Fs::posix(); tests wrap it with FaultFs (base/fault_fs.h) to inject short
// writes, failed fsyncs, free-space readings and power cuts, as leveldb's Env does.
//
// Every call reports errors as Result with the path in the message. Thread-safety: Fs objects are
// shared by all threads; one FsFile is used by one thread at a time, except pread(), which may be
// called concurrently with itself and with writes to another region.

#include <sys/uio.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "base/result.h"

namespace ingestor {

class FsFile {
 public:
  virtual ~FsFile() = default;
  // Appends at the end of the file. May write fewer bytes than asked (a short write); returns how
  // many were written. Callers loop.
  [[nodiscard]] virtual Result<size_t> writev(const struct iovec* iov, int iovcnt) = 0;
  // Reads up to `n` bytes at `offset`; fewer at the end of the file (0 at or past the end).
  [[nodiscard]] virtual Result<size_t> pread(char* buf, size_t n, uint64_t offset) = 0;
  // fdatasync(2): the data written so far is durable when this returns success.
  [[nodiscard]] virtual Status sync() = 0;
  [[nodiscard]] virtual Status truncate(uint64_t size) = 0;
  [[nodiscard]] virtual Result<uint64_t> size() = 0;
  virtual const std::string& path() const = 0;
};

// An exclusive advisory lock (flock) held while the object lives.
class FsLock {
 public:
  virtual ~FsLock() = default;
};

enum class OpenMode {
  kRead,         // read only; the file must exist
  kAppend,       // read/write, created if missing, writes go to the end
  kCreateTrunc,  // read/write, created or truncated to empty
};

class Fs {
 public:
  virtual ~Fs() = default;
  [[nodiscard]] virtual Result<std::unique_ptr<FsFile>> open(const std::string& path,
                                                             OpenMode mode) = 0;
  [[nodiscard]] virtual Status remove(const std::string& path) = 0;
  // rename(2): atomic replace of `to`.
  [[nodiscard]] virtual Status rename(const std::string& from, const std::string& to) = 0;
  // fsync of a directory, after a create, rename or remove in it.
  [[nodiscard]] virtual Status sync_dir(const std::string& dir) = 0;
  // Names (not paths) of the entries in `dir`, without "." and "..".
  [[nodiscard]] virtual Result<std::vector<std::string>> list_dir(const std::string& dir) = 0;
  [[nodiscard]] virtual Status make_dirs(const std::string& dir) = 0;
  [[nodiscard]] virtual bool exists(const std::string& path) = 0;
  // Bytes available to an unprivileged user on the filesystem holding `dir` (statvfs f_bavail).
  [[nodiscard]] virtual Result<uint64_t> free_space(const std::string& dir) = 0;
  // Takes an exclusive non-blocking flock on `path` (created if missing). Fails with kConflict
  // when another open file description holds it (another channel, another process).
  [[nodiscard]] virtual Result<std::unique_ptr<FsLock>> lock(const std::string& path) = 0;

  // The real filesystem; lives for the whole process.
  static Fs& posix();
};

// Reads a whole file through `fs`.
[[nodiscard]] Result<std::string> read_whole_file(Fs& fs, const std::string& path);
// Writes `data` to `path` atomically and durably: path.tmp, write, sync, rename, sync the dir.
// With `durable` false the two syncs are left out: the file is still replaced whole (a reader or
// a process killed at any moment sees the old content or the new), but an OS crash may lose it.
[[nodiscard]] Status write_file_atomic(Fs& fs, const std::string& dir, const std::string& name,
                                       std::string_view data, bool durable = true);

}  // namespace ingestor
