#include "cli/up_credentials.h"

#include <fcntl.h>
#include <openssl/rand.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <cerrno>
#include <cstring>

#include "base/file.h"
#include "base/log.h"

namespace ingestor::cli {

namespace {

// clang-format off
constexpr GeneratedSecret kSecrets[] = {
    {"store.accessKey", "ingestor-", 8},
    {"store.secretKey", "", 24},
    {"relay.secret", "", 32},
};
// clang-format on

Result<std::string> random_value(const GeneratedSecret& s) {
  std::string raw(s.random_bytes, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(raw.data()), static_cast<int>(raw.size())) != 1)
    return make_error(Errc::kIo, "cannot generate random credentials (OpenSSL RAND_bytes failed)");
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out(s.prefix);
  for (unsigned char c : raw) {
    out += kHex[c >> 4];
    out += kHex[c & 15];
  }
  return out;
}

// Writes `text` to `path` mode 0600: a temporary file beside it, fsync, rename.
Status write_private(const std::string& path, const std::string& text) {
  const std::string tmp = path + ".tmp";
  ::unlink(tmp.c_str());
  auto f = File::open(tmp, O_WRONLY | O_CREAT | O_EXCL, 0600);
  if (!f) return f.error();
  if (::fchmod(f->fd(), 0600) != 0)  // whatever the umask
    return make_error(Errc::kIo, "cannot chmod " + tmp + ": " + std::strerror(errno));
  if (auto s = f->write_all(text); !s) return s;
  if (auto s = f->fsync(); !s) return s;
  if (auto s = f->close(); !s) return s;
  if (::rename(tmp.c_str(), path.c_str()) != 0)
    return make_error(Errc::kIo,
                      "cannot rename " + tmp + " to " + path + ": " + std::strerror(errno));
  return {};
}

}  // namespace

std::span<const GeneratedSecret> up_generated_secrets() { return kSecrets; }

std::string credentials_path(const std::string& data_dir) { return data_dir + "/credentials.json"; }

Result<std::map<std::string, std::string>> load_or_create_credentials(const std::string& path) {
  std::map<std::string, std::string> creds;
  struct stat st {};
  const bool exists = ::stat(path.c_str(), &st) == 0;
  if (exists) {
    if ((st.st_mode & 077) != 0) {
      log::warn("{} was readable by others (mode {:o}): made 0600", path, st.st_mode & 0777);
      if (::chmod(path.c_str(), 0600) != 0)
        return make_error(Errc::kIo, "cannot chmod " + path + ": " + std::strerror(errno));
    }
    auto text = read_file(path);
    if (!text) return text.error();
    boost::system::error_code ec;
    boost::json::value v = boost::json::parse(*text, ec);
    const boost::json::object* obj = ec ? nullptr : v.if_object();
    if (obj == nullptr)
      return make_error(Errc::kConfig, path + ": not a JSON object of strings (" +
                                           (ec ? ec.message() : "not an object") +
                                           "); move it away to generate new credentials");
    for (const auto& kv : *obj) {
      if (!kv.value().is_string())
        return make_error(Errc::kConfig, path + ": " + std::string(kv.key()) + " is not a string");
      creds[std::string(kv.key())] = std::string(kv.value().get_string());
    }
  } else if (errno != ENOENT) {
    return make_error(Errc::kIo, "cannot read " + path + ": " + std::strerror(errno));
  }
  bool added = false;
  for (const auto& s : kSecrets) {
    auto it = creds.find(std::string(s.key));
    if (it != creds.end() && !it->second.empty()) continue;
    auto v = random_value(s);
    if (!v) return v.error();
    creds[std::string(s.key)] = std::move(*v);
    added = true;
  }
  if (added) {
    boost::json::object o;
    for (const auto& [k, v] : creds) o[k] = v;  // fields of other versions are kept
    if (auto s = write_private(path, boost::json::serialize(o) + "\n"); !s) return s.error();
  }
  return creds;
}

size_t apply_credentials(Properties& props, const std::map<std::string, std::string>& creds) {
  size_t n = 0;
  for (const auto& s : kSecrets) {
    const std::string* v = props.get(s.key);
    if (v != nullptr && !v->empty()) continue;  // the configuration says otherwise
    auto it = creds.find(std::string(s.key));
    if (it == creds.end()) continue;
    props.set(std::string(s.key), it->second);
    ++n;
  }
  return n;
}

}  // namespace ingestor::cli
