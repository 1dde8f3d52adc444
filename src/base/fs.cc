#include "base/fs.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <cerrno>

#include "base/file.h"

namespace ingestor {

namespace {

class PosixFile final : public FsFile {
 public:
  PosixFile(int fd, std::string path) : fd_(fd), path_(std::move(path)) {}
  ~PosixFile() override { ::close(fd_); }

  Result<size_t> writev(const struct iovec* iov, int iovcnt) override {
    for (;;) {
      ssize_t n = ::writev(fd_, iov, iovcnt);
      if (n >= 0) return static_cast<size_t>(n);
      if (errno != EINTR) return errno_error("write " + path_, errno);
    }
  }

  Result<size_t> pread(char* buf, size_t n, uint64_t offset) override {
    size_t got = 0;
    while (got < n) {
      ssize_t r = ::pread(fd_, buf + got, n - got, static_cast<off_t>(offset + got));
      if (r < 0) {
        if (errno == EINTR) continue;
        return errno_error("read " + path_, errno);
      }
      if (r == 0) break;
      got += static_cast<size_t>(r);
    }
    return got;
  }

  Status sync() override {
    if (::fdatasync(fd_) != 0) return errno_error("fsync " + path_, errno);
    return {};
  }

  Status truncate(uint64_t size) override {
    if (::ftruncate(fd_, static_cast<off_t>(size)) != 0)
      return errno_error("truncate " + path_, errno);
    return {};
  }

  Result<uint64_t> size() override {
    struct stat st;
    if (::fstat(fd_, &st) != 0) return errno_error("stat " + path_, errno);
    return static_cast<uint64_t>(st.st_size);
  }

  const std::string& path() const override { return path_; }

 private:
  int fd_;
  std::string path_;
};

class PosixLock final : public FsLock {
 public:
  explicit PosixLock(int fd) : fd_(fd) {}
  ~PosixLock() override {
    ::flock(fd_, LOCK_UN);
    ::close(fd_);
  }

 private:
  int fd_;
};

class PosixFs final : public Fs {
 public:
  Result<std::unique_ptr<FsFile>> open(const std::string& path, OpenMode mode) override {
    int flags = O_CLOEXEC;
    switch (mode) {
      case OpenMode::kRead:
        flags |= O_RDONLY;
        break;
      case OpenMode::kAppend:
        flags |= O_RDWR | O_CREAT | O_APPEND;
        break;
      case OpenMode::kCreateTrunc:
        flags |= O_RDWR | O_CREAT | O_TRUNC | O_APPEND;
        break;
    }
    int fd = ::open(path.c_str(), flags, 0644);
    if (fd < 0) {
      Error e = errno_error("open " + path, errno);
      if (errno == ENOENT) e.code = Errc::kNotFound;
      return e;
    }
    return std::unique_ptr<FsFile>(std::make_unique<PosixFile>(fd, path));
  }

  Status remove(const std::string& path) override {
    if (::unlink(path.c_str()) != 0 && errno != ENOENT) return errno_error("unlink " + path, errno);
    return {};
  }

  Status rename(const std::string& from, const std::string& to) override {
    if (::rename(from.c_str(), to.c_str()) != 0)
      return errno_error("rename " + from + " to " + to, errno);
    return {};
  }

  Status sync_dir(const std::string& dir) override { return fsync_dir(dir); }

  Result<std::vector<std::string>> list_dir(const std::string& dir) override {
    DIR* d = ::opendir(dir.c_str());
    if (!d) return errno_error("opendir " + dir, errno);
    std::vector<std::string> out;
    while (struct dirent* e = ::readdir(d)) {
      std::string n = e->d_name;
      if (n != "." && n != "..") out.push_back(std::move(n));
    }
    ::closedir(d);
    return out;
  }

  Status make_dirs(const std::string& dir) override { return ingestor::make_dirs(dir); }

  bool exists(const std::string& path) override {
    struct stat st;
    return ::stat(path.c_str(), &st) == 0;
  }

  Result<uint64_t> free_space(const std::string& dir) override {
    struct statvfs st;
    if (::statvfs(dir.c_str(), &st) != 0) return errno_error("statvfs " + dir, errno);
    return static_cast<uint64_t>(st.f_bavail) * static_cast<uint64_t>(st.f_frsize);
  }

  Result<std::unique_ptr<FsLock>> lock(const std::string& path) override {
    int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) return errno_error("open " + path, errno);
    if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
      int err = errno;
      ::close(fd);
      if (err == EWOULDBLOCK) return make_error(Errc::kConflict, path + " is locked");
      return errno_error("flock " + path, err);
    }
    return std::unique_ptr<FsLock>(std::make_unique<PosixLock>(fd));
  }
};

}  // namespace

Fs& Fs::posix() {
  static PosixFs fs;
  return fs;
}

Result<std::string> read_whole_file(Fs& fs, const std::string& path) {
  auto f = fs.open(path, OpenMode::kRead);
  if (!f) return f.error();
  auto sz = (*f)->size();
  if (!sz) return sz.error();
  std::string out(*sz, '\0');
  auto n = (*f)->pread(out.data(), out.size(), 0);
  if (!n) return n.error();
  out.resize(*n);
  return out;
}

Status write_file_atomic(Fs& fs, const std::string& dir, const std::string& name,
                         std::string_view data, bool durable) {
  const std::string tmp = dir + "/" + name + ".tmp";
  auto f = fs.open(tmp, OpenMode::kCreateTrunc);
  if (!f) return f.error();
  while (!data.empty()) {
    struct iovec iov {
      const_cast<char*>(data.data()), data.size()
    };
    auto n = (*f)->writev(&iov, 1);
    if (!n) return n.error();
    if (*n == 0) return make_error(Errc::kIo, "write " + tmp + ": no progress");
    data.remove_prefix(*n);
  }
  if (durable)
    if (auto s = (*f)->sync(); !s) return s;
  f->reset();
  if (auto s = fs.rename(tmp, dir + "/" + name); !s) return s;
  return durable ? fs.sync_dir(dir) : Status{};
}

}  // namespace ingestor
