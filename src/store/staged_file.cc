#include "store/staged_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "store/keys.h"

namespace ingestor::store {

namespace {
constexpr size_t kBuffer = StagedFile::kBufferSize;
constexpr uint64_t kWritebackStep = 4 << 20;
ApiError io(const std::string& what, int e) {
  return err::internal(what + ": " + std::strerror(e));
}
}  // namespace

ApiResult<StagedFile> StagedFile::create(const std::string& data_dir) {
  StagedFile f;
  f.data_dir_ = data_dir;
  f.id_ = new_content_id();
  return f;
}

ApiStatus StagedFile::open_temp() {
  if (created_) return {};
  auto file = File::open(temp_path(data_dir_, id_), O_WRONLY | O_CREAT | O_EXCL, 0644);
  if (!file) return err::internal(file.error().message);
  file_ = std::move(*file);
  created_ = true;
  return {};
}

StagedFile::StagedFile(StagedFile&& o) noexcept
    : data_dir_(std::move(o.data_dir_)),
      id_(std::move(o.id_)),
      file_(std::move(o.file_)),
      buf_(std::move(o.buf_)),
      size_(o.size_),
      writeback_from_(o.writeback_from_),
      created_(o.created_),
      renamed_(o.renamed_),
      durable_(o.durable_),
      released_(o.released_) {
  o.id_.clear();
}

StagedFile& StagedFile::operator=(StagedFile&& o) noexcept {
  if (this != &o) {
    this->~StagedFile();
    new (this) StagedFile(std::move(o));
  }
  return *this;
}

StagedFile::~StagedFile() {
  if (id_.empty() || released_ || !created_) return;
  (void)file_.close();
  if (renamed_) {
    ::unlink(content_path(data_dir_, id_).c_str());
  } else {
    ::unlink(temp_path(data_dir_, id_).c_str());
  }
}

ApiStatus StagedFile::flush() {
  if (auto s = open_temp(); !s) return s;
  if (buf_.empty()) return {};
  auto s = file_.write_all(buf_);
  buf_.clear();
  if (!s) return err::internal(s.error().message);
  return {};
}

// A large body is written back while it arrives, not all at commit_file()'s fsync, which the
// client waits for after its last byte: SYNC_FILE_RANGE_WRITE only starts the writeback of the
// bytes written so far (it neither waits for it nor makes anything durable; the fsync does).
void StagedFile::start_writeback() {
  const uint64_t in_file = size_ - buf_.size();
  if (in_file - writeback_from_ < kWritebackStep) return;
  (void)::sync_file_range(file_.fd(), static_cast<off64_t>(writeback_from_),
                          static_cast<off64_t>(in_file - writeback_from_), SYNC_FILE_RANGE_WRITE);
  writeback_from_ = in_file;
}

ApiStatus StagedFile::write(std::string_view data) {
  size_ += data.size();
  if (buf_.size() + data.size() > kBuffer) {
    if (auto s = flush(); !s) return s;  // creates the file
    if (data.size() >= kBuffer) {
      auto s = file_.write_all(data);
      if (!s) return err::internal(s.error().message);
    } else {
      buf_.append(data);
    }
    start_writeback();
    return {};
  }
  buf_.append(data);
  return {};
}

ApiStatus StagedFile::write_through(std::string_view data) {
  size_ += data.size();
  if (auto s = flush(); !s) return s;  // creates the file
  if (auto s = file_.write_all(data); !s) return err::internal(s.error().message);
  start_writeback();
  return {};
}

ApiStatus StagedFile::append_from(int src_fd, uint64_t offset, uint64_t len) {
  if (auto s = flush(); !s) return s;
  off64_t in_off = static_cast<off64_t>(offset);
  uint64_t left = len;
  while (left > 0) {
    ssize_t n = ::copy_file_range(src_fd, &in_off, file_.fd(), nullptr, left, 0);
    if (n < 0 && (errno == EXDEV || errno == ENOSYS || errno == EINVAL || errno == EOPNOTSUPP)) {
      // Fall back to read/write.
      std::string chunk(std::min<uint64_t>(left, kBuffer), '\0');
      ssize_t r = ::pread(src_fd, chunk.data(), chunk.size(), in_off);
      if (r < 0) return io("pread", errno);
      if (r == 0) return err::internal("source file shorter than expected");
      chunk.resize(static_cast<size_t>(r));
      if (auto s = file_.write_all(chunk); !s) return err::internal(s.error().message);
      in_off += r;
      left -= static_cast<uint64_t>(r);
      continue;
    }
    if (n < 0) {
      if (errno == EINTR) continue;
      return io("copy_file_range", errno);
    }
    if (n == 0) return err::internal("source file shorter than expected");
    left -= static_cast<uint64_t>(n);
  }
  size_ += len;
  return {};
}

ApiStatus StagedFile::commit_file() {
  if (durable_) return {};
  if (!renamed_) {
    if (auto s = flush(); !s) return s;
    if (auto s = file_.fsync(); !s) return err::internal(s.error().message);
    if (auto s = file_.close(); !s) return err::internal(s.error().message);
    std::string dst = content_path(data_dir_, id_);
    if (::rename(temp_path(data_dir_, id_).c_str(), dst.c_str()) != 0) return io("rename", errno);
    renamed_ = true;
  }
  if (auto s = fsync_dir(content_dir()); !s) return err::internal(s.error().message);
  durable_ = true;
  return {};
}

std::string StagedFile::content_dir() const {
  std::string p = content_path(data_dir_, id_);
  return p.substr(0, p.rfind('/'));
}

}  // namespace ingestor::store
