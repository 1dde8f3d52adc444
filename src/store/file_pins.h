#pragma once
// FilePins: content files a reader is still streaming from. A multipart object's bytes are its
// part files, opened one after another while a response streams (holding one descriptor per part
// for the whole response would take up to 10,000 of them), so unlinking a part file once the
// commit that released it returns could cut a concurrent GetObject short. The group-commit thread
// hands every released file to unlink(): a pinned file is unlinked when its last Lease goes, any
// other at once. Every unlink happens under the lock, so a file that still exists after pin()
// returned stays until that lease goes: a reader pins, then checks that its files exist. A crash
// drops the deferred unlinks; the sweep at open() removes those files, which no row references.
// Thread-safety: every method may be called from any thread. Memory: one entry per pinned path.

#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

namespace ingestor::store {

class FilePins {
 public:
  // Unpins its paths on destruction. Movable; an empty Lease pins nothing.
  class Lease {
   public:
    Lease() = default;
    Lease(FilePins* owner, std::vector<std::string> paths)
        : owner_(owner), paths_(std::move(paths)) {}
    Lease(Lease&& o) noexcept : owner_(o.owner_), paths_(std::move(o.paths_)) {
      o.owner_ = nullptr;
    }
    Lease& operator=(Lease&& o) noexcept;
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;
    ~Lease() { reset(); }
    void reset();

   private:
    FilePins* owner_ = nullptr;
    std::vector<std::string> paths_;
  };

  FilePins() = default;
  FilePins(const FilePins&) = delete;
  FilePins& operator=(const FilePins&) = delete;
  ~FilePins();  // unlinks what is still deferred (no Lease may outlive this)

  // Pins `paths` (a path may be pinned by several leases). A file released before the pin may be
  // gone already: the caller checks that its files exist once pinned.
  [[nodiscard]] Lease pin(std::vector<std::string> paths);
  // Unlinks `path` now, or when the last lease pinning it goes.
  void unlink(const std::string& path);

  size_t pinned() const;    // distinct pinned paths (tests)
  size_t deferred() const;  // released paths waiting for their last lease (tests)

 private:
  struct Entry {
    int leases = 0;
    bool released = false;  // unlink when `leases` drops to 0
  };
  void unpin(const std::vector<std::string>& paths);

  mutable std::mutex mu_;
  std::unordered_map<std::string, Entry> entries_;  // guarded by mu_
};

}  // namespace ingestor::store
