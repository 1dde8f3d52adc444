#pragma once
// TLS contexts from Flume's keystore/truststore keys (flume-components.md 0.2), for the avro
// source and sink. Java keystores map to what OpenSSL reads:
//  - a PEM file (any keystore-type: the content decides): the certificate chain and the private
//    key (keystore), or CA certificates (truststore); keystore-password decrypts the key;
//  - PKCS12 (keystore-type = PKCS12, or a DER file): read with OpenSSL's PKCS12_parse and the
//    password;
//  - JKS (Flume's default type, magic FEEDFEED): refused with the keytool/openssl commands that
//    convert it.
// Protocols: exclude-protocols (SSLv3 always excluded) and include-protocols, Java's names
// (TLSv1, TLSv1.1, TLSv1.2, TLSv1.3). Cipher-suite keys are not applied (Java's names are not
// OpenSSL's): a warning says so. No host name verification on the client, as Flume.

#include <memory>
#include <string>
#include <vector>

#include "base/result.h"

namespace boost::asio::ssl {
class context;
}

namespace ingestor::net {

struct TlsKeys {
  std::string store;       // keystore (server) or truststore (client) path; may be empty (client)
  std::string password;    // store password
  std::string type;        // JKS (Flume's default), PKCS12, PEM (any case)
  bool trust_all = false;  // client: accept any server certificate
  std::vector<std::string> include_protocols, exclude_protocols;
  bool cipher_suites_given = false;
};

// Errors (kConfig) name the key: "keystore: ...". Warnings go to `warnings`.
[[nodiscard]] Result<std::shared_ptr<boost::asio::ssl::context>> make_server_tls(
    const TlsKeys& k, std::vector<std::string>* warnings);
[[nodiscard]] Result<std::shared_ptr<boost::asio::ssl::context>> make_client_tls(
    const TlsKeys& k, std::vector<std::string>* warnings);

}  // namespace ingestor::net
