#pragma once
// Mutual TLS for native links (--caf-tls-cert, --caf-tls-key, --caf-tls-ca),
// terminated by the front with Boost.Asio over OpenSSL 3 (not by CAF's
// OpenSSL module: see README, "Linking nodes natively").
//
// One context per role, built once at start: TLS 1.3, our certificate
// chain and key, the CA file as the only trust anchor (never the system's
// store), the peer's certificate required and verified both ways. OpenSSL's
// chain verification refuses expired and not-yet-valid certificates and
// those of other CAs. Any certificate from the CA is accepted: the CA is
// the list of members (no host name check; caf:// addresses stay as they
// are).

#include <memory>
#include <string>

#include <boost/asio/ssl/context.hpp>

namespace dlt::net {

struct tls_files {
  std::string cert; // PEM: our certificate, then any intermediates
  std::string key;  // PEM: its private key (unencrypted)
  std::string ca;   // PEM: the CA certificate(s) peers must chain to
};

struct tls_contexts {
  boost::asio::ssl::context server{boost::asio::ssl::context::tls_server};
  boost::asio::ssl::context client{boost::asio::ssl::context::tls_client};
};

/// Loads and checks the files: each readable, the key matching the
/// certificate, our certificate valid now, chaining to the CA and usable
/// for both ends of a connection. Null and `error` set when not.
std::shared_ptr<tls_contexts> load_tls(const tls_files& files,
                                       std::string& error);

} // namespace dlt::net
