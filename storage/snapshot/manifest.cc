#include "storage/snapshot/manifest.h"

#include <cassert>
#include <cstring>
#include <utility>

#include "base/crc32c.h"
#include "base/little_endian.h"

namespace neuroplex::snapshot {
namespace {

constexpr std::string_view kMagic = "NPXSNAP\n";
// magic, version, index, term, membership length, file count, trailing CRC.
constexpr std::size_t kFixedBytes = 8 + 4 + 8 + 8 + 4 + 4 + 4;
// name length, at least one name byte, size, CRC.
constexpr std::size_t kFileEntryBytesMin = 2 + 1 + 8 + 4;

Status bad(const std::string& what) { return invalid_argument("snapshot manifest: " + what); }

bool is_name_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '_' || c == '-';
}

}  // namespace

std::uint64_t Manifest::total_bytes() const {
  std::uint64_t total = 0;
  for (const ManifestFile& file : files) total += file.size_bytes;
  return total;
}

Status check_file_name(std::string_view name) {
  if (name.empty() || name.size() > kFileNameSizeMax) {
    return invalid_argument("snapshot file name must be 1.." + std::to_string(kFileNameSizeMax) +
                            " bytes, got " + std::to_string(name.size()));
  }
  for (char c : name) {
    if (!is_name_char(c)) {
      return invalid_argument("snapshot file name '" + std::string(name) +
                              "' has a character outside [A-Za-z0-9._-] (a path?)");
    }
  }
  if (name == "." || name == ".." || name == kManifestFileName) {
    return invalid_argument("snapshot file name '" + std::string(name) + "' is reserved");
  }
  return Status::ok();
}

Status check_manifest_files(const std::vector<ManifestFile>& files) {
  for (std::size_t i = 0; i < files.size(); ++i) {
    NPX_RETURN_IF_ERROR(check_file_name(files[i].name));
    if (i > 0 && files[i - 1].name >= files[i].name) {
      return invalid_argument("snapshot file list is not sorted or has a duplicate at '" +
                              files[i].name + "'");
    }
  }
  return Status::ok();
}

std::string encode_manifest(const Manifest& manifest) {
  assert(check_manifest_files(manifest.files).is_ok() && "invalid snapshot file list");
  std::string membership = raft::encode_membership(manifest.meta.membership);
  std::string out;
  out.reserve(kFixedBytes + membership.size() + manifest.files.size() * 40);
  out.append(kMagic);
  put_le<std::uint32_t>(out, kManifestFormatVersion);
  put_le<std::uint64_t>(out, manifest.meta.index);
  put_le<std::uint64_t>(out, manifest.meta.term);
  put_le<std::uint32_t>(out, static_cast<std::uint32_t>(membership.size()));
  out.append(membership);
  put_le<std::uint32_t>(out, static_cast<std::uint32_t>(manifest.files.size()));
  for (const ManifestFile& file : manifest.files) {
    put_le<std::uint16_t>(out, static_cast<std::uint16_t>(file.name.size()));
    out.append(file.name);
    put_le<std::uint64_t>(out, file.size_bytes);
    put_le<std::uint32_t>(out, file.crc32c);
  }
  put_le<std::uint32_t>(out, crc32c(out));
  return out;
}

Result<Manifest> decode_manifest(std::string_view bytes) {
  if (bytes.size() < kFixedBytes) {
    return bad("truncated: " + std::to_string(bytes.size()) + " bytes, at least " +
               std::to_string(kFixedBytes) + " expected");
  }
  if (bytes.size() > kManifestSizeMax) {
    return bad(std::to_string(bytes.size()) + " bytes is more than the limit of " +
               std::to_string(kManifestSizeMax));
  }
  std::string_view body = bytes.substr(0, bytes.size() - 4);
  std::uint32_t stored_crc = 0;
  std::string_view trailer = bytes.substr(body.size());
  take_le(trailer, stored_crc);
  if (stored_crc != crc32c(body)) return bad("checksum mismatch (corrupt or truncated)");

  std::string_view in = body;
  std::string_view magic;
  take_bytes(in, kMagic.size(), magic);
  if (magic != kMagic) return bad("bad magic (not a MANIFEST.npx)");
  std::uint32_t version = 0;
  take_le(in, version);
  if (version != kManifestFormatVersion) {
    return bad("unsupported format version " + std::to_string(version));
  }
  Manifest manifest;
  std::uint32_t membership_size = 0;
  take_le(in, manifest.meta.index);
  take_le(in, manifest.meta.term);
  take_le(in, membership_size);
  std::string_view membership;
  if (!take_bytes(in, membership_size, membership)) return bad("truncated membership");
  Result<raft::Membership> decoded = raft::decode_membership(membership);
  if (!decoded.is_ok()) return bad(decoded.status().message());
  manifest.meta.membership = std::move(decoded).value();

  std::uint32_t file_count = 0;
  if (!take_le(in, file_count) || file_count > in.size() / kFileEntryBytesMin) {
    return bad("file count " + std::to_string(file_count) + " does not fit the manifest");
  }
  manifest.files.reserve(file_count);
  for (std::uint32_t i = 0; i < file_count; ++i) {
    ManifestFile file;
    std::uint16_t name_size = 0;
    std::string_view name;
    if (!take_le(in, name_size) || !take_bytes(in, name_size, name) ||
        !take_le(in, file.size_bytes) || !take_le(in, file.crc32c)) {
      return bad("truncated file entry " + std::to_string(i));
    }
    file.name.assign(name);
    manifest.files.push_back(std::move(file));
  }
  if (in.size() != 0) return bad(std::to_string(in.size()) + " trailing bytes");
  Status files = check_manifest_files(manifest.files);
  if (!files.is_ok()) return bad(files.message());
  return manifest;
}

}  // namespace neuroplex::snapshot
