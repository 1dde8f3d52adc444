#include "base/file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>
#include <sstream>

namespace ingestor {

File& File::operator=(File&& o) noexcept {
  if (this != &o) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = o.fd_;
    path_ = std::move(o.path_);
    o.fd_ = -1;
  }
  return *this;
}

File::~File() {
  if (fd_ >= 0) ::close(fd_);
}

Result<File> File::open(const std::string& path, int flags, int mode) {
  int fd = ::open(path.c_str(), flags | O_CLOEXEC, mode);
  if (fd < 0) return errno_error("open " + path, errno);
  return File(fd, path);
}

Status File::write_all(std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::write(fd_, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno_error("write " + path_, errno);
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return {};
}

Status File::fsync() {
  if (::fsync(fd_) != 0) return errno_error("fsync " + path_, errno);
  return {};
}

Status File::close() {
  if (fd_ < 0) return {};
  int fd = fd_;
  fd_ = -1;
  if (::close(fd) != 0) return errno_error("close " + path_, errno);
  return {};
}

Status make_dirs(const std::string& path) {
  if (path.empty()) return {};
  std::string cur;
  size_t pos = 0;
  while (pos != std::string::npos) {
    pos = path.find('/', pos + 1);
    cur = path.substr(0, pos);
    if (cur.empty()) continue;
    if (::mkdir(cur.c_str(), 0755) != 0 && errno != EEXIST)
      return errno_error("mkdir " + cur, errno);
  }
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return errno_error("stat " + path, errno);
  if (!S_ISDIR(st.st_mode)) return make_error(Errc::kIo, path + " exists and is not a directory");
  return {};
}

Status fsync_dir(const std::string& path) {
  auto f = File::open(path, O_RDONLY | O_DIRECTORY);
  if (!f) return f.error();
  return f->fsync();
}

Result<std::string> read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return errno_error("cannot read " + path, errno ? errno : ENOENT);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace ingestor
