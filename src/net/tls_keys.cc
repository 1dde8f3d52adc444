#include "net/tls_keys.h"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/pkcs12.h>
#include <openssl/ssl.h>

#include <algorithm>
#include <boost/asio/ssl.hpp>
#include <cctype>
#include <fstream>
#include <iterator>

namespace ingestor::net {

namespace ssl = boost::asio::ssl;

namespace {

std::string upper(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

std::string openssl_error() {
  unsigned long e = ERR_get_error();
  if (!e) return "unknown OpenSSL error";
  char buf[256];
  ERR_error_string_n(e, buf, sizeof buf);
  ERR_clear_error();
  return buf;
}

enum class Format { kPem, kPkcs12, kJks };

Result<std::string> read_file(const std::string& key, const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) return make_error(Errc::kConfig, key + ": cannot open '" + path + "'");
  return std::string(std::istreambuf_iterator<char>(f), {});
}

Format sniff(const std::string& bytes, const std::string& type) {
  if (bytes.size() >= 4 && static_cast<unsigned char>(bytes[0]) == 0xFE &&
      static_cast<unsigned char>(bytes[1]) == 0xED &&
      static_cast<unsigned char>(bytes[2]) == 0xFE && static_cast<unsigned char>(bytes[3]) == 0xED)
    return Format::kJks;
  if (bytes.find("-----BEGIN") != std::string::npos) return Format::kPem;
  if (upper(type) == "JKS" && !(bytes.size() > 0 && static_cast<unsigned char>(bytes[0]) == 0x30))
    return Format::kJks;
  return Format::kPkcs12;
}

Error jks_error(const std::string& key, const std::string& path) {
  return make_error(
      Errc::kConfig,
      key + ": '" + path +
          "' is a Java KeyStore (JKS), which OpenSSL cannot read. Convert it to PKCS12 with "
          "`keytool -importkeystore -srckeystore " +
          path + " -destkeystore store.p12 -deststoretype PKCS12` and set " + key +
          "-type = PKCS12, or to PEM with `openssl pkcs12 -in store.p12 -nodes -out store.pem`");
}

struct Pkcs12 {
  EVP_PKEY* key = nullptr;
  X509* cert = nullptr;
  STACK_OF(X509) * ca = nullptr;
  ~Pkcs12() {
    EVP_PKEY_free(key);
    X509_free(cert);
    sk_X509_pop_free(ca, X509_free);
  }
};

Status parse_pkcs12(const std::string& key, const std::string& path, const std::string& bytes,
                    const std::string& password, Pkcs12& out) {
  const auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
  PKCS12* p12 = d2i_PKCS12(nullptr, &p, static_cast<long>(bytes.size()));
  if (!p12)
    return make_error(Errc::kConfig,
                      key + ": '" + path + "' is neither PEM nor PKCS12: " + openssl_error());
  const bool ok = PKCS12_parse(p12, password.c_str(), &out.key, &out.cert, &out.ca) == 1;
  PKCS12_free(p12);
  if (!ok)
    return make_error(Errc::kConfig, key + ": cannot open PKCS12 '" + path +
                                         "' (wrong password?): " + openssl_error());
  return {};
}

void apply_protocols(ssl::context& ctx, const TlsKeys& k, std::vector<std::string>* warnings) {
  long opts = SSL_OP_NO_SSLv2 | SSL_OP_NO_SSLv3;
  struct P {
    const char* name;
    long flag;
  };
  const P all[] = {{"TLSV1", SSL_OP_NO_TLSv1},
                   {"TLSV1.1", SSL_OP_NO_TLSv1_1},
                   {"TLSV1.2", SSL_OP_NO_TLSv1_2},
                   {"TLSV1.3", SSL_OP_NO_TLSv1_3}};
  auto listed = [](const std::vector<std::string>& v, const char* n) {
    return std::any_of(v.begin(), v.end(), [&](const std::string& s) { return upper(s) == n; });
  };
  for (const auto& p : all) {
    if (!k.include_protocols.empty() && !listed(k.include_protocols, p.name)) opts |= p.flag;
    if (listed(k.exclude_protocols, p.name)) opts |= p.flag;
  }
  SSL_CTX_set_options(ctx.native_handle(), opts);
  if (k.cipher_suites_given && warnings)
    warnings->push_back(
        "include-cipher-suites / exclude-cipher-suites are not applied (Java's suite names are "
        "not OpenSSL's): OpenSSL's default suites are used");
}

}  // namespace

Result<std::shared_ptr<ssl::context>> make_server_tls(const TlsKeys& k,
                                                      std::vector<std::string>* warnings) {
  if (k.store.empty())
    return make_error(Errc::kConfig, "keystore: keystore must be specified when SSL is enabled");
  auto bytes = read_file("keystore", k.store);
  if (!bytes) return bytes.error();
  auto ctx = std::make_shared<ssl::context>(ssl::context::tls_server);
  apply_protocols(*ctx, k, warnings);
  SSL_CTX* c = ctx->native_handle();
  switch (sniff(*bytes, k.type)) {
    case Format::kJks:
      return jks_error("keystore", k.store);
    case Format::kPem: {
      const std::string pw = k.password;
      ctx->set_password_callback([pw](size_t, ssl::context::password_purpose) { return pw; });
      boost::system::error_code ec;
      ctx->use_certificate_chain_file(k.store, ec);
      if (!ec) ctx->use_private_key_file(k.store, ssl::context::pem, ec);
      if (ec)
        return make_error(Errc::kConfig, "keystore: invalid keystore '" + k.store +
                                             "' (PEM with the certificate chain and the private "
                                             "key expected): " +
                                             ec.message());
      break;
    }
    case Format::kPkcs12: {
      Pkcs12 p;
      if (auto s = parse_pkcs12("keystore", k.store, *bytes, k.password, p); !s) return s.error();
      if (!p.cert || !p.key)
        return make_error(Errc::kConfig,
                          "keystore: '" + k.store + "' holds no certificate with a private key");
      if (SSL_CTX_use_certificate(c, p.cert) != 1 || SSL_CTX_use_PrivateKey(c, p.key) != 1)
        return make_error(Errc::kConfig, "keystore: " + openssl_error());
      for (int i = 0; p.ca && i < sk_X509_num(p.ca); ++i) {
        X509* x = sk_X509_value(p.ca, i);
        X509_up_ref(x);
        if (SSL_CTX_add_extra_chain_cert(c, x) != 1) X509_free(x);
      }
      break;
    }
  }
  if (SSL_CTX_check_private_key(c) != 1)
    return make_error(Errc::kConfig,
                      "keystore: the private key does not match the certificate "
                      "in '" +
                          k.store + "'");
  return ctx;
}

Result<std::shared_ptr<ssl::context>> make_client_tls(const TlsKeys& k,
                                                      std::vector<std::string>* warnings) {
  auto ctx = std::make_shared<ssl::context>(ssl::context::tls_client);
  apply_protocols(*ctx, k, warnings);
  if (k.trust_all) {
    if (warnings)
      warnings->push_back(
          "No truststore configured, setting TrustManager to accept all server certificates");
    ctx->set_verify_mode(ssl::verify_none);
    return ctx;
  }
  ctx->set_verify_mode(ssl::verify_peer);
  boost::system::error_code ec;
  if (k.store.empty()) {
    ctx->set_default_verify_paths(ec);  // the system's CA certificates, as Java's default
    if (ec) return make_error(Errc::kConfig, "truststore: no system CA store: " + ec.message());
    return ctx;
  }
  auto bytes = read_file("truststore", k.store);
  if (!bytes) return bytes.error();
  switch (sniff(*bytes, k.type)) {
    case Format::kJks:
      return jks_error("truststore", k.store);
    case Format::kPem:
      ctx->load_verify_file(k.store, ec);
      if (ec)
        return make_error(Errc::kConfig,
                          "truststore: invalid truststore '" + k.store + "': " + ec.message());
      break;
    case Format::kPkcs12: {
      Pkcs12 p;
      if (auto s = parse_pkcs12("truststore", k.store, *bytes, k.password, p); !s) return s.error();
      X509_STORE* store = SSL_CTX_get_cert_store(ctx->native_handle());
      if (p.cert) X509_STORE_add_cert(store, p.cert);
      for (int i = 0; p.ca && i < sk_X509_num(p.ca); ++i)
        X509_STORE_add_cert(store, sk_X509_value(p.ca, i));
      break;
    }
  }
  return ctx;
}

}  // namespace ingestor::net
