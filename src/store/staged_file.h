#pragma once
// StagedFile: object bytes on their way into the store. Bytes collect in a buffer of
// kBufferSize; the temp file <data>/tmp/<id>.part is created only when that buffer first spills
// (or on commit_file()/append_from()), so a small body that ObjectStore stores inline in the
// database (buffered_contents()) never touches the file system. commit_file() writes the rest,
// fsyncs the file, renames it to <data>/objects/<id[0..2]>/<id> and fsyncs that directory, so the
// content is durable under its final name before the metadata row that references it is
// committed. Until released, the destructor removes whatever exists of the file (temp or
// renamed), so a failed request leaves nothing behind. Memory: at most kBufferSize bytes.
// Not thread-safe; moved between threads, used by one at a time.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "base/file.h"
#include "store/store_error.h"

namespace ingestor::store {

class StagedFile {
 public:
  static constexpr uint64_t kBufferSize = 1 << 20;

  [[nodiscard]] static ApiResult<StagedFile> create(const std::string& data_dir);
  StagedFile() = default;
  StagedFile(StagedFile&& o) noexcept;
  StagedFile& operator=(StagedFile&& o) noexcept;
  ~StagedFile();

  [[nodiscard]] ApiStatus write(std::string_view data);
  // Writes `data` to the file now, after whatever is buffered (creating the file), without
  // copying it into the buffer: for a caller that already holds the bytes in large blocks.
  [[nodiscard]] ApiStatus write_through(std::string_view data);
  // Appends `len` bytes of `src_fd` from `offset` (copy_file_range, falling back to pread).
  [[nodiscard]] ApiStatus append_from(int src_fd, uint64_t offset, uint64_t len);
  // Flushes, fsyncs, closes, renames into the content path and fsyncs the content directory.
  // Idempotent after success. Runs on the caller's thread: concurrent requests sync their files
  // and directories in parallel, leaving the group-commit thread one fsync (the WAL) per batch.
  [[nodiscard]] ApiStatus commit_file();
  // The store now references the content: the destructor must not remove it.
  void release() { released_ = true; }

  const std::string& id() const { return id_; }
  uint64_t size() const { return size_; }
  // All the bytes written so far while no file exists yet (at most kBufferSize of them), else
  // nullopt. Valid until the next call that changes this object. Lets ObjectStore store a small
  // body inline, without a file.
  std::optional<std::string_view> buffered_contents() const {
    if (created_) return std::nullopt;
    return std::string_view(buf_);
  }
  bool valid() const { return !id_.empty(); }

 private:
  [[nodiscard]] ApiStatus open_temp();  // creates the temp file on first use
  [[nodiscard]] ApiStatus flush();
  void start_writeback();
  std::string content_dir() const;
  std::string data_dir_;
  std::string id_;
  File file_;
  std::string buf_;
  uint64_t size_ = 0;
  uint64_t writeback_from_ = 0;  // file bytes before this were handed to early writeback
  bool created_ = false;  // the temp file exists (created lazily: a small object never needs it)
  bool renamed_ = false;
  bool durable_ = false;  // renamed and the content directory fsynced
  bool released_ = false;
};

}  // namespace ingestor::store
