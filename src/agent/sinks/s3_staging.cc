#include "agent/sinks/s3_staging.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <cstring>

#include "base/hash.h"
#include "base/log.h"

namespace ingestor {

namespace {

constexpr size_t kRecord = 8 + 8 + 4;

void put_u64(std::string& s, uint64_t v) {
  for (int i = 0; i < 8; ++i) s += static_cast<char>((v >> (8 * i)) & 0xff);
}
uint64_t get_u64(const char* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(p[i]);
  return v;
}

}  // namespace

std::string manifest_text(const StagedObject& o) {
  std::string s = "bucket=" + o.bucket + "\nkey=" + to_hex(o.key) + "\n";
  if (o.sealed) s += "sealed=" + std::to_string(o.size) + " " + o.md5_hex + "\n";
  return s;
}

bool parse_manifest(const std::string& text, StagedObject& o) {
  size_t pos = 0;
  bool have_bucket = false, have_key = false;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    if (nl == std::string::npos) return false;  // torn
    std::string line = text.substr(pos, nl - pos);
    pos = nl + 1;
    if (line.rfind("bucket=", 0) == 0) {
      o.bucket = line.substr(7);
      have_bucket = true;
    } else if (line.rfind("key=", 0) == 0) {
      auto k = from_hex(line.substr(4));
      if (!k) return false;
      o.key = *k;
      have_key = true;
    } else if (line.rfind("sealed=", 0) == 0) {
      auto sp = line.find(' ');
      if (sp == std::string::npos) return false;
      // Decimal digits only: a damaged size makes the manifest unreadable (it is set aside).
      const std::string_view digits = std::string_view(line).substr(7, sp - 7);
      const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), o.size);
      if (ec != std::errc() || end != digits.data() + digits.size()) return false;
      o.sealed = true;
      o.md5_hex = line.substr(sp + 1);
    }
  }
  return have_bucket && have_key;
}

Result<std::string> md5_of_file(const std::string& path, uint64_t size) {
  auto f = File::open(path, O_RDONLY);
  if (!f) return f.error();
  Md5 md5;
  std::string buf(1 << 20, '\0');
  uint64_t left = size;
  while (left > 0) {
    ssize_t n = ::read(f->fd(), buf.data(), std::min<uint64_t>(buf.size(), left));
    if (n <= 0) return make_error(Errc::kIo, "read " + path + ": short file");
    md5.update(std::string_view(buf.data(), static_cast<size_t>(n)));
    left -= static_cast<uint64_t>(n);
  }
  return to_hex(md5.finish());
}

std::string encode_commit_record(uint64_t id, uint64_t length) {
  std::string r;
  put_u64(r, id);
  put_u64(r, length);
  uint32_t crc = crc32c(r);
  for (int i = 0; i < 4; ++i) r += static_cast<char>((crc >> (8 * i)) & 0xff);
  return r;
}

std::map<uint64_t, uint64_t> parse_commit_log(std::string_view log, uint64_t* valid_bytes) {
  std::map<uint64_t, uint64_t> out;
  size_t off = 0;
  while (off + kRecord <= log.size()) {
    const char* p = log.data() + off;
    uint32_t crc = 0;
    for (int i = 3; i >= 0; --i) crc = (crc << 8) | static_cast<unsigned char>(p[16 + i]);
    if (crc32c(std::string_view(p, 16)) != crc) break;
    out[get_u64(p)] = get_u64(p + 8);
    off += kRecord;
  }
  if (valid_bytes) *valid_bytes = off;
  return out;
}

std::string S3Staging::path(uint64_t id, const char* ext) const {
  return dir_ + "/" + std::to_string(id) + ext;
}

Result<std::unique_ptr<S3Staging>> S3Staging::open(const std::string& dir,
                                                   std::vector<StagedObject>* recovered) {
  if (auto s = make_dirs(dir); !s) return s.error();
  std::unique_ptr<S3Staging> st(new S3Staging(dir));
  st->lock_fd_ = ::open((dir + "/lock").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (st->lock_fd_ < 0) return errno_error("open " + dir + "/lock", errno);
  if (::flock(st->lock_fd_, LOCK_EX | LOCK_NB) != 0) {
    return make_error(Errc::kConfig, "staging directory " + dir +
                                         " is in use by another process (another agent or sink "
                                         "with the same stagingDir)");
  }
  // Read the commit log (a torn tail is ignored and cut off).
  std::string log_path = dir + "/commits.log";
  std::string log_text;
  if (auto t = read_file(log_path)) log_text = *t;
  auto committed = parse_commit_log(log_text, nullptr);
  if (committed.count(0)) st->high_water_ = committed[0];

  // Read the manifests.
  DIR* d = ::opendir(dir.c_str());
  if (!d) return errno_error("opendir " + dir, errno);
  std::vector<uint64_t> ids;
  while (dirent* e = ::readdir(d)) {
    std::string n = e->d_name;
    if (n.size() > 5 && n.ends_with(".meta")) {
      // "<digits>.meta"; a number too large for an id is no object of ours and is ignored.
      uint64_t id = 0;
      const char* digits_end = n.data() + n.size() - 5;
      const auto [end, ec] = std::from_chars(n.data(), digits_end, id);
      if (ec == std::errc() && end == digits_end) ids.push_back(id);
    }
  }
  ::closedir(d);
  // Data files with no manifest never had anything committed (create() writes the manifest
  // before the first append): delete them.
  if (DIR* d2 = ::opendir(dir.c_str())) {
    std::vector<std::string> orphans;
    while (dirent* e = ::readdir(d2)) {
      std::string n = e->d_name;
      if (n.size() > 5 && n.ends_with(".data") &&
          n.find_first_not_of("0123456789") == n.size() - 5 &&
          ::access((dir + "/" + n.substr(0, n.size() - 5) + ".meta").c_str(), F_OK) != 0)
        orphans.push_back(dir + "/" + n);
    }
    ::closedir(d2);
    for (const auto& o : orphans) ::unlink(o.c_str());
  }
  for (uint64_t id : ids) {
    st->next_id_ = std::max(st->next_id_, id + 1);
    StagedObject o;
    o.id = id;
    o.data_path = st->path(id, ".data");
    auto text = read_file(st->path(id, ".meta"));
    if (!text || !parse_manifest(*text, o)) {
      log::error("staging {}: unreadable manifest {}.meta; its data is kept aside", dir, id);
      ::rename(st->path(id, ".meta").c_str(), st->path(id, ".meta.bad").c_str());
      continue;
    }
    struct stat sb {};
    bool have_data = ::stat(o.data_path.c_str(), &sb) == 0;
    uint64_t on_disk = have_data ? static_cast<uint64_t>(sb.st_size) : 0;
    if (o.sealed && (!have_data || on_disk < o.size)) {
      // Data is deleted only after a successful upload (manifest first since this release; an
      // older run may have died between the two deletions): the object is already in S3.
      log::warn(
          "staging {}: sealed object {} ({}) has no data file; it was uploaded, dropping "
          "its manifest",
          dir, id, o.key);
      ::unlink(st->path(id, ".meta").c_str());
      continue;
    }
    if (!o.sealed) {
      uint64_t len = committed.count(id) ? committed[id] : 0;
      if (len == 0) {  // nothing was committed: nothing to keep
        ::unlink(o.data_path.c_str());
        ::unlink(st->path(id, ".meta").c_str());
        continue;
      }
      if (on_disk < len) {
        log::error(
            "staging {}: object {} has {} bytes but {} were committed (data lost by the "
            "file system); uploading what is there",
            dir, id, on_disk, len);
        len = on_disk;
      }
      if (on_disk > len && ::truncate(o.data_path.c_str(), static_cast<off_t>(len)) != 0)
        return errno_error("truncate " + o.data_path, errno);
      o.size = len;
      auto md5 = md5_of_file(o.data_path, len);
      if (!md5) return md5.error();
      o.md5_hex = *md5;
      o.sealed = true;
      if (auto s = st->write_manifest(o); !s) return s.error();
    }
    st->staged_bytes_ += o.size;
    Entry ent;
    ent.obj = o;
    ent.written = o.size;
    st->objects_.emplace(id, std::move(ent));
    if (recovered) recovered->push_back(o);
  }
  // A fresh log holding nothing open (every recovered object is sealed), and the high water.
  auto log = File::open(log_path + ".new", O_WRONLY | O_CREAT | O_TRUNC);
  if (!log) return log.error();
  if (st->high_water_ > 0) {
    if (auto s = log->write_all(encode_commit_record(0, st->high_water_)); !s) return s.error();
  }
  if (auto s = log->fsync(); !s) return s.error();
  if (::rename((log_path + ".new").c_str(), log_path.c_str()) != 0)
    return errno_error("rename " + log_path, errno);
  if (auto s = fsync_dir(dir); !s) return s.error();
  auto reopened = File::open(log_path, O_WRONLY | O_APPEND);
  if (!reopened) return reopened.error();
  st->log_ = std::move(*reopened);
  return st;
}

S3Staging::~S3Staging() {
  if (lock_fd_ >= 0) ::close(lock_fd_);
}

Status S3Staging::write_manifest(const StagedObject& o) {
  std::string tmp = path(o.id, ".meta.tmp");
  auto f = File::open(tmp, O_WRONLY | O_CREAT | O_TRUNC);
  if (!f) return f.error();
  if (auto s = f->write_all(manifest_text(o)); !s) return s;
  if (auto s = f->fsync(); !s) return s;
  if (::rename(tmp.c_str(), path(o.id, ".meta").c_str()) != 0)
    return errno_error("rename " + tmp, errno);
  return fsync_dir(dir_);
}

Result<StagedObject> S3Staging::create(const std::string& bucket, const std::string& key) {
  StagedObject o;
  o.id = next_id_++;
  o.bucket = bucket;
  o.key = key;
  o.data_path = path(o.id, ".data");
  auto data = File::open(o.data_path, O_WRONLY | O_CREAT | O_TRUNC);
  if (!data) return data.error();
  if (auto s = write_manifest(o); !s) return s.error();
  Entry e;
  e.obj = o;
  e.data = std::move(*data);
  objects_.emplace(o.id, std::move(e));
  return o;
}

Status S3Staging::append(uint64_t id, std::string_view bytes) {
  auto it = objects_.find(id);
  if (it == objects_.end() || !it->second.data.is_open())
    return make_error(Errc::kInternal, "staging: object " + std::to_string(id) + " is not open");
  // An abort that failed (say, no room to rewrite the log) is finished first: appending behind
  // bytes it should have cut off would commit them.
  if (abort_pending_) {
    if (auto s = abort(); !s) return s;
  }
  Entry& e = it->second;
  // Dirty before the write: a short write (ENOSPC) leaves part of `bytes` in the file and the
  // offset past it, and abort() must cut that off too.
  e.dirty = true;
  if (auto s = e.data.write_all(bytes); !s) return s;
  e.written += bytes.size();
  return {};
}

Status S3Staging::commit(uint64_t high_water) {
  PendingCommit c = prepare_commit(high_water);
  if (c.empty()) return {};
  return finish_commit(c, sync_commit(c));
}

S3Staging::PendingCommit S3Staging::prepare_commit(uint64_t high_water) {
  PendingCommit c;
  for (auto& [id, e] : objects_) {
    if (!e.dirty) continue;
    c.lengths.emplace_back(id, e.written);
    c.files.push_back(&e.data);
    c.records += encode_commit_record(id, e.written);
  }
  if (high_water > high_water_) {
    c.records += encode_commit_record(0, high_water);
    c.high_water = high_water;
  }
  c.log = &log_;
  return c;
}

Status S3Staging::sync_commit(PendingCommit& c) {
  // The data before the records that vouch for it.
  for (File* f : c.files)
    if (auto s = f->fsync(); !s) return s;
  // From here until the log's fsync returns, its records may or may not be on disk.
  c.log_touched = true;
  if (auto s = c.log->write_all(c.records); !s) return s;
  return c.log->fsync();
}

Status S3Staging::finish_commit(const PendingCommit& c, Status synced) {
  if (!synced) {
    if (c.log_touched) log_unsure_ = true;  // abort() rewrites the log
    return synced;
  }
  log_bytes_ += c.records.size();
  high_water_ = std::max(high_water_, c.high_water);
  for (const auto& [id, len] : c.lengths) {
    auto it = objects_.find(id);
    if (it == objects_.end()) continue;
    Entry& e = it->second;
    staged_bytes_ += len - e.obj.size;
    e.obj.size = len;
    e.dirty = e.written > len;
  }
  if (log_bytes_ > (4u << 20)) return compact_log();
  return {};
}

Status S3Staging::abort() {
  bool dirty = false;
  for (auto& [id, e] : objects_) dirty = dirty || e.dirty;
  if (!dirty && !log_unsure_) return {};
  abort_pending_ = true;  // until it succeeds: append() finishes it first
  // The log first: records of the failed commit (a higher length, a higher position) must not
  // survive a crash in the middle of this, or recovery would trust bytes and skip events that
  // were never acknowledged. Without such records the log is left alone (rewriting it needs
  // room, and a full disk is the usual reason to be here).
  if (log_unsure_) {
    if (auto s = compact_log(); !s) return s;
    log_unsure_ = false;
  }
  for (auto& [id, e] : objects_) {
    if (!e.dirty) continue;
    // Back to the committed length, and write from there (the fd's offset is past it).
    if (::ftruncate(e.data.fd(), static_cast<off_t>(e.obj.size)) != 0 ||
        ::lseek(e.data.fd(), static_cast<off_t>(e.obj.size), SEEK_SET) < 0)
      return errno_error("truncate " + e.obj.data_path, errno);
    e.written = e.obj.size;
    e.dirty = false;
  }
  abort_pending_ = false;
  return {};
}

Status S3Staging::compact_log() {
  // Every open object's latest length, in a new log swapped in atomically.
  std::string records;
  if (high_water_ > 0) records += encode_commit_record(0, high_water_);
  for (auto& [id, e] : objects_)
    if (!e.obj.sealed) records += encode_commit_record(id, e.obj.size);
  std::string log_path = dir_ + "/commits.log";
  auto f = File::open(log_path + ".new", O_WRONLY | O_CREAT | O_TRUNC);
  if (!f) return f.error();
  if (auto s = f->write_all(records); !s) return s;
  if (auto s = f->fsync(); !s) return s;
  if (::rename((log_path + ".new").c_str(), log_path.c_str()) != 0)
    return errno_error("rename " + log_path, errno);
  if (auto s = fsync_dir(dir_); !s) return s;
  auto reopened = File::open(log_path, O_WRONLY | O_APPEND);
  if (!reopened) return reopened.error();
  log_ = std::move(*reopened);
  log_bytes_ = records.size();
  return {};
}

Result<StagedObject> S3Staging::seal(uint64_t id, bool with_md5) {
  auto it = objects_.find(id);
  if (it == objects_.end()) return make_error(Errc::kInternal, "staging: unknown object");
  Entry& e = it->second;
  if (e.dirty) return make_error(Errc::kInternal, "staging: seal before commit");
  if (e.obj.sealed) return e.obj;
  (void)e.data.close();
  if (with_md5) {
    auto md5 = md5_of_file(e.obj.data_path, e.obj.size);
    if (!md5) return md5.error();
    e.obj.md5_hex = *md5;
  }
  e.obj.sealed = true;
  if (auto s = write_manifest(e.obj); !s) {
    e.obj.sealed = false;
    return s.error();
  }
  return e.obj;
}

Status S3Staging::rekey(uint64_t id, const std::string& key) {
  auto it = objects_.find(id);
  if (it == objects_.end()) return make_error(Errc::kInternal, "staging: unknown object");
  it->second.obj.key = key;
  return write_manifest(it->second.obj);
}

Result<StagedObject> S3Staging::object(uint64_t id) const {
  auto it = objects_.find(id);
  if (it == objects_.end()) return make_error(Errc::kInternal, "staging: unknown object");
  return it->second.obj;
}

void S3Staging::remove(uint64_t id) {
  auto it = objects_.find(id);
  if (it == objects_.end()) return;
  staged_bytes_ -= std::min(staged_bytes_, it->second.obj.size);
  // The manifest goes first: a data file without a manifest is an orphan that open() deletes,
  // while a sealed manifest without its data would be an upload that can never succeed.
  ::unlink(path(id, ".meta").c_str());
  ::unlink(it->second.obj.data_path.c_str());
  objects_.erase(it);
}

}  // namespace ingestor
