#include "store/body_pipeline.h"

#include <algorithm>
#include <cstring>

namespace ingestor::store {

ApiResult<std::unique_ptr<BodyPipeline>> BodyPipeline::create(BodyPlan plan,
                                                              std::optional<StagedFile> file) {
  std::unique_ptr<BodyPipeline> p(new BodyPipeline());
  if (plan.chunked) {
    auto d = s3::AwsChunkedDecoder::create(*plan.chunked);
    if (!d) return ApiError::from(d.error());
    p->decoder_.emplace(std::move(*d));
  }
  if (plan.mode == s3::PayloadMode::kSha256) p->sha256_.emplace();
  for (const auto& [alg, _] : plan.header_checksums) p->summers_.emplace_back(alg);
  if (plan.compute) {
    bool have = false;
    for (const auto& s : p->summers_) have = have || s.algorithm() == *plan.compute;
    // A trailer carries its own verified value; compute only when nothing else will.
    if (plan.chunked && !plan.chunked->declared_trailers.empty()) have = true;
    if (!have) p->summers_.emplace_back(*plan.compute);
  }
  if (plan.memory_limit == 0 && !file) return err::internal("body pipeline without destination");
  if (plan.memory_limit == 0 && (!plan.expected_size || *plan.expected_size >= kHashBlock) &&
      Md5Lanes::cpu_has_avx2()) {
    for (size_t i = 0; i < kHashRing; ++i)
      p->ring_.push_back(std::make_unique_for_overwrite<char[]>(kHashBlock));
    p->lanes_md5_.emplace(Md5Lanes::shared());
  }
  p->file_ = std::move(file);
  p->plan_ = std::move(plan);
  return p;
}

ApiStatus BodyPipeline::account(std::string_view d) {
  size_ += d.size();
  if (plan_.expected_size && size_ > *plan_.expected_size)
    return err::incomplete_body("The request body is longer than its declared length.");
  if (sha256_ && !decoder_) sha256_->update(d);
  for (auto& s : summers_) s.update(d);
  return {};
}

ApiStatus BodyPipeline::consume(std::string_view d) {
  if (d.empty()) return {};
  if (auto s = account(d); !s) return s;
  if (lanes_md5_) return copy_into_ring(d);
  md5_.update(d);
  if (plan_.memory_limit > 0) {
    if (memory_.size() + d.size() > plan_.memory_limit) return err::malformed_xml();
    memory_.append(d);
    return {};
  }
  return file_->write(d);
}

std::span<char> BodyPipeline::in_place() {
  if (!takes_in_place()) return {};
  return {current_block() + ring_fill_, kHashBlock - ring_fill_};
}

char* BodyPipeline::current_block() {
  // A block about to be filled was submitted kHashRing blocks ago: it must be hashed first.
  if (ring_fill_ == 0 && ring_seq_ >= kHashRing) lanes_md5_->wait_done(ring_seq_ + 1 - kHashRing);
  return ring_[ring_seq_ % kHashRing].get();
}

ApiStatus BodyPipeline::feed_in_place(size_t n) {
  if (failed_) return *failed_;
  ApiStatus st = account(std::string_view(ring_[ring_seq_ % kHashRing].get() + ring_fill_, n));
  if (st) {
    ring_fill_ += n;
    if (ring_fill_ == kHashBlock) st = submit_block();
  }
  if (!st) failed_ = st.error();
  return st;
}

ApiStatus BodyPipeline::copy_into_ring(std::string_view d) {
  while (!d.empty()) {
    char* block = current_block();
    const size_t take = std::min(kHashBlock - ring_fill_, d.size());
    std::memcpy(block + ring_fill_, d.data(), take);
    ring_fill_ += take;
    d.remove_prefix(take);
    if (ring_fill_ == kHashBlock) {
      if (auto s = submit_block(); !s) return s;
    }
  }
  return {};
}

ApiStatus BodyPipeline::submit_block() {
  const std::string_view full(ring_[ring_seq_ % kHashRing].get(), kHashBlock);
  ring_seq_ = lanes_md5_->submit(full);  // hashed on the worker while this thread writes
  ring_fill_ = 0;
  return file_->write_through(full);
}

ApiStatus BodyPipeline::feed(std::string_view raw) {
  if (failed_) return *failed_;
  ApiStatus st;
  if (decoder_) {
    // The signed payload hash (if any) covers the encoded bytes.
    if (sha256_) sha256_->update(raw);
    decoded_.clear();
    if (auto s = decoder_->feed(raw, decoded_); !s) {
      st = ApiError::from(s.error());
    } else {
      st = consume(decoded_);
    }
  } else {
    st = consume(raw);
  }
  if (!st) failed_ = st.error();
  return st;
}

ApiStatus BodyPipeline::finish() {
  if (failed_) return *failed_;
  if (decoder_) {
    if (auto s = decoder_->finish(); !s) return ApiError::from(s.error());
    for (const auto& t : decoder_->trailers()) {
      auto alg = s3::checksum_from_header(t.name);
      if (alg) checksums_.emplace_back(s3::checksum_name(*alg), t.value);
    }
  }
  if (plan_.expected_size && size_ != *plan_.expected_size) return err::incomplete_body();
  if (sha256_) {
    if (sha256_->finish_hex() != plan_.expected_sha256) return err::sha256_mismatch();
  }
  Md5Digest md5;
  if (lanes_md5_) {
    const std::string_view tail(ring_[ring_seq_ % kHashRing].get(), ring_fill_);
    if (auto s = file_->write(tail); !s) return s;
    md5 = lanes_md5_->finish(tail);
  } else {
    md5 = md5_.finish();
  }
  md5_hex_ = to_hex(md5);
  if (plan_.content_md5 && *plan_.content_md5 != as_bytes(md5)) return err::bad_digest();
  for (size_t i = 0; i < summers_.size(); ++i) {
    std::string got = summers_[i].finish_base64();
    const char* name = s3::checksum_name(summers_[i].algorithm());
    if (i < plan_.header_checksums.size()) {
      if (got != plan_.header_checksums[i].second) {
        return err::bad_digest(std::string("The ") + name +
                               " you specified did not match the calculated checksum.");
      }
    }
    checksums_.emplace_back(name, got);
  }
  return {};
}

}  // namespace ingestor::store
