#pragma once
// Small POSIX file helpers that report errors as Result, with the path in the message.

#include <string>
#include <string_view>

#include "base/result.h"

namespace ingestor {

// An owned file descriptor (closed on destruction).
class File {
 public:
  File() = default;
  explicit File(int fd, std::string path = {}) : fd_(fd), path_(std::move(path)) {}
  File(File&& o) noexcept : fd_(o.fd_), path_(std::move(o.path_)) { o.fd_ = -1; }
  File& operator=(File&& o) noexcept;
  ~File();

  // open(2) with flags; O_CLOEXEC is added.
  [[nodiscard]] static Result<File> open(const std::string& path, int flags, int mode = 0644);
  [[nodiscard]] Status write_all(std::string_view data);
  [[nodiscard]] Status fsync();
  [[nodiscard]] Status close();
  int fd() const { return fd_; }
  const std::string& path() const { return path_; }
  bool is_open() const { return fd_ >= 0; }

 private:
  int fd_ = -1;
  std::string path_;
};

// mkdir -p. Existing directories are fine.
[[nodiscard]] Status make_dirs(const std::string& path);
// fsync of a directory (after a create or rename in it).
[[nodiscard]] Status fsync_dir(const std::string& path);
[[nodiscard]] Result<std::string> read_file(const std::string& path);

}  // namespace ingestor
