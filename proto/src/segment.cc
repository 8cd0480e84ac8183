#include "bocd/proto/segment.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <bit>
#include <cstdio>
#include <cstring>
#include <new>
#include <string>
#include <system_error>
#include <utility>

namespace bocd::proto {

namespace {

constexpr unsigned REQUIRED_SEALS = F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL;

[[noreturn]] void throw_os(const char* what) {
  throw std::system_error(errno, std::generic_category(), what);
}

bool valid_capacity(std::uint64_t c) {
  return c >= MIN_RING_CAPACITY && c <= MAX_RING_CAPACITY &&
         std::has_single_bit(c);
}

std::string seals_text(int seals) {
  std::string out;
  auto add = [&](int bit, const char* name) {
    if (seals & bit) out += out.empty() ? name : std::string("|") + name;
  };
  add(F_SEAL_SHRINK, "SHRINK");
  add(F_SEAL_GROW, "GROW");
  add(F_SEAL_SEAL, "SEAL");
  add(F_SEAL_WRITE, "WRITE");
  return out.empty() ? "none" : out;
}

void* map_shared(int fd, std::size_t size) {
  void* base = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (base == MAP_FAILED) throw_os("mmap(ring segment)");
  return base;
}

RingView ring_at(void* base, std::size_t offset, std::uint64_t capacity) {
  auto* p = static_cast<std::uint8_t*>(base) + offset;
  return {reinterpret_cast<RingControl*>(p), p + sizeof(RingControl),
          capacity};
}

}  // namespace

Segment Segment::create(std::uint64_t ring_capacity) {
  if (!valid_capacity(ring_capacity)) {
    throw std::invalid_argument(
        "ring capacity " + std::to_string(ring_capacity) +
        " is not a power of two between " + std::to_string(MIN_RING_CAPACITY) +
        " and " + std::to_string(MAX_RING_CAPACITY));
  }
  UniqueFd fd(::memfd_create("bocd-ring", MFD_CLOEXEC | MFD_ALLOW_SEALING));
  if (!fd) throw_os("memfd_create(ring segment)");
  const std::uint64_t size = segment_bytes(ring_capacity);
  if (::ftruncate(fd.get(), static_cast<off_t>(size)) != 0) {
    throw_os("ftruncate(ring segment)");
  }
  // Allocates every page now: a page allocated on first touch could fail
  // later under memory pressure, and that failure is a SIGBUS.
  if (int e = ::posix_fallocate(fd.get(), 0, static_cast<off_t>(size))) {
    errno = e;
    throw_os("posix_fallocate(ring segment)");
  }
  if (::fcntl(fd.get(), F_ADD_SEALS, REQUIRED_SEALS) != 0) {
    throw_os("fcntl(F_ADD_SEALS, ring segment)");
  }
  void* base = map_shared(fd.get(), size);
  // A fresh memfd reads as zeros: both rings start empty and unparked.
  // The atomics are created in place so their lifetime begins here.
  for (std::size_t off : {SEGMENT_HEADER_BYTES,
                          SEGMENT_HEADER_BYTES + sizeof(RingControl) +
                              static_cast<std::size_t>(ring_capacity)}) {
    new (static_cast<std::uint8_t*>(base) + off) RingControl{};
  }
  SegmentHeader h{};
  h.magic = SEGMENT_MAGIC;
  h.layout_version = SEGMENT_LAYOUT_VERSION;
  h.ring_capacity = ring_capacity;
  std::memcpy(base, &h, sizeof h);
  return Segment(std::move(fd), base, size, ring_capacity);
}

Segment Segment::map(UniqueFd fd) {
  int seals = ::fcntl(fd.get(), F_GET_SEALS);
  if (seals < 0) {
    throw SegmentError(std::string("ring segment: cannot read its seals (") +
                       std::strerror(errno) + "); is it a memfd?");
  }
  if ((seals & REQUIRED_SEALS) != REQUIRED_SEALS) {
    throw SegmentError("ring segment is not sealed against resizing: seals " +
                       seals_text(seals) + ", need SHRINK|GROW|SEAL");
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) throw_os("fstat(ring segment)");
  const auto file_size = static_cast<std::uint64_t>(st.st_size);
  if (file_size < SEGMENT_HEADER_BYTES) {
    throw SegmentError("ring segment is " + std::to_string(file_size) +
                       " bytes, smaller than its header");
  }
  // The header is read with pread into private memory, before anything is
  // mapped: what is checked is what is used.
  SegmentHeader h{};
  if (::pread(fd.get(), &h, sizeof h, 0) != static_cast<ssize_t>(sizeof h)) {
    throw SegmentError("ring segment: cannot read its header");
  }
  if (h.magic != SEGMENT_MAGIC) {
    char hex[32];
    std::snprintf(hex, sizeof hex, "%016llx",
                  static_cast<unsigned long long>(h.magic));
    throw SegmentError(std::string("ring segment has the wrong magic 0x") +
                       hex + " (not a bocd ring segment)");
  }
  if (h.layout_version != SEGMENT_LAYOUT_VERSION) {
    throw SegmentError("ring segment has layout version " +
                       std::to_string(h.layout_version) + ", this side reads " +
                       std::to_string(SEGMENT_LAYOUT_VERSION));
  }
  if (!valid_capacity(h.ring_capacity)) {
    throw SegmentError("ring segment has ring capacity " +
                       std::to_string(h.ring_capacity) +
                       ", not a power of two between " +
                       std::to_string(MIN_RING_CAPACITY) + " and " +
                       std::to_string(MAX_RING_CAPACITY));
  }
  const std::uint64_t want = segment_bytes(h.ring_capacity);
  if (file_size != want) {
    throw SegmentError("ring segment is " + std::to_string(file_size) +
                       " bytes; rings of " + std::to_string(h.ring_capacity) +
                       " bytes need " + std::to_string(want));
  }
  void* base = map_shared(fd.get(), want);
  return Segment(std::move(fd), base, want, h.ring_capacity);
}

Segment::Segment(Segment&& o) noexcept
    : fd_(std::move(o.fd_)),
      base_(std::exchange(o.base_, nullptr)),
      size_(std::exchange(o.size_, 0)),
      capacity_(std::exchange(o.capacity_, 0)) {}

Segment& Segment::operator=(Segment&& o) noexcept {
  if (this != &o) {
    unmap();
    fd_ = std::move(o.fd_);
    base_ = std::exchange(o.base_, nullptr);
    size_ = std::exchange(o.size_, 0);
    capacity_ = std::exchange(o.capacity_, 0);
  }
  return *this;
}

Segment::~Segment() { unmap(); }

void Segment::unmap() {
  if (base_ != nullptr) ::munmap(base_, size_);
  base_ = nullptr;
}

RingView Segment::to_daemon() const {
  return ring_at(base_, SEGMENT_HEADER_BYTES, capacity_);
}

RingView Segment::from_daemon() const {
  return ring_at(base_,
                 SEGMENT_HEADER_BYTES + sizeof(RingControl) +
                     static_cast<std::size_t>(capacity_),
                 capacity_);
}

}  // namespace bocd::proto
