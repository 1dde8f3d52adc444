#include "core/event.h"

#include <algorithm>
#include <new>

namespace ingestor {

Chunk* Chunk::make(size_t capacity) {
  void* mem = ::operator new(sizeof(Chunk) + capacity);
  return new (mem) Chunk(capacity);
}

void Chunk::destroy() noexcept {
  this->~Chunk();
  ::operator delete(this);
}

Slice Slice::copy_of(std::string_view bytes) {
  if (bytes.empty()) return Slice();
  Chunk* c = Chunk::make(bytes.size());
  std::memcpy(c->data(), bytes.data(), bytes.size());
  return Slice(ChunkRef::adopt(c), c->data(), bytes.size());
}

Headers::Headers(std::initializer_list<Header> init) {
  for (const auto& h : init) set(h.first, h.second);
}

const std::string* Headers::find(std::string_view key) const noexcept {
  for (const auto& h : kv_)
    if (h.first == key) return &h.second;
  return nullptr;
}

void Headers::set(std::string key, std::string value) {
  for (auto& h : kv_) {
    if (h.first == key) {
      h.second = std::move(value);
      return;
    }
  }
  kv_.emplace_back(std::move(key), std::move(value));
}

bool Headers::set_if_absent(std::string_view key, std::string value) {
  if (find(key)) return false;
  kv_.emplace_back(std::string(key), std::move(value));
  return true;
}

bool Headers::erase(std::string_view key) {
  auto it = std::find_if(kv_.begin(), kv_.end(), [&](const Header& h) { return h.first == key; });
  if (it == kv_.end()) return false;
  kv_.erase(it);
  return true;
}

bool Headers::operator==(const Headers& o) const {
  if (kv_.size() != o.kv_.size()) return false;
  for (const auto& h : kv_) {
    const std::string* v = o.find(h.first);
    if (!v || *v != h.second) return false;
  }
  return true;
}

}  // namespace ingestor
