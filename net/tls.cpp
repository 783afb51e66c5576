#include "net/tls.hpp"

#include <cstdio>
#include <memory>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>

namespace dlt::net {
namespace {

namespace ssl = boost::asio::ssl;

std::string openssl_error() {
  auto code = ERR_get_error();
  ERR_clear_error();
  if (code == 0)
    return "unknown error";
  char text[256];
  ERR_error_string_n(code, text, sizeof text);
  return text;
}

struct file_closer {
  void operator()(FILE* f) const { std::fclose(f); }
};
struct x509_free {
  void operator()(X509* x) const { X509_free(x); }
};
struct store_free {
  void operator()(X509_STORE* s) const { X509_STORE_free(s); }
};
struct store_ctx_free {
  void operator()(X509_STORE_CTX* c) const { X509_STORE_CTX_free(c); }
};
struct chain_free {
  void operator()(STACK_OF(X509) * s) const { sk_X509_pop_free(s, X509_free); }
};

/// Our certificate and the intermediates after it in the chain file.
bool read_chain(const std::string& path, std::unique_ptr<X509, x509_free>& leaf,
                std::unique_ptr<STACK_OF(X509), chain_free>& rest,
                std::string& error) {
  std::unique_ptr<FILE, file_closer> f{std::fopen(path.c_str(), "r")};
  if (!f) {
    error = "cannot read " + path;
    return false;
  }
  leaf.reset(PEM_read_X509(f.get(), nullptr, nullptr, nullptr));
  if (!leaf) {
    error = path + " holds no PEM certificate";
    return false;
  }
  rest.reset(sk_X509_new_null());
  while (X509* x = PEM_read_X509(f.get(), nullptr, nullptr, nullptr))
    sk_X509_push(rest.get(), x);
  ERR_clear_error(); // the end of the file reads as an error
  return true;
}

/// Our own certificate is checked as a peer will check it, so a node with
/// an expired or foreign certificate says so at start instead of failing
/// every link.
bool check_own(const tls_files& files, std::string& error) {
  std::unique_ptr<X509, x509_free> leaf;
  std::unique_ptr<STACK_OF(X509), chain_free> rest;
  if (!read_chain(files.cert, leaf, rest, error))
    return false;
  std::unique_ptr<X509_STORE, store_free> store{X509_STORE_new()};
  if (!store || X509_STORE_load_file(store.get(), files.ca.c_str()) != 1) {
    error = "cannot load the CA file " + files.ca + ": " + openssl_error();
    return false;
  }
  std::unique_ptr<X509_STORE_CTX, store_ctx_free> ctx{X509_STORE_CTX_new()};
  if (!ctx
      || X509_STORE_CTX_init(ctx.get(), store.get(), leaf.get(), rest.get())
           != 1) {
    error = "cannot check the certificate: " + openssl_error();
    return false;
  }
  if (X509_verify_cert(ctx.get()) != 1) {
    error = "the certificate " + files.cert + " is not accepted by the CA "
            + files.ca + ": "
            + X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx.get()));
    return false;
  }
  // Every node is server and client: an extendedKeyUsage, if present,
  // must allow both.
  if (X509_check_purpose(leaf.get(), X509_PURPOSE_SSL_SERVER, 0) != 1
      || X509_check_purpose(leaf.get(), X509_PURPOSE_SSL_CLIENT, 0) != 1) {
    error = "the certificate " + files.cert
            + " must allow both serverAuth and clientAuth (or name no "
              "extendedKeyUsage)";
    return false;
  }
  return true;
}

bool configure(ssl::context& ctx, bool server, const tls_files& files,
               std::string& error) {
  auto* native = ctx.native_handle();
  SSL_CTX_set_min_proto_version(native, TLS1_3_VERSION);
  // No resumption: every connection shows and checks a certificate.
  SSL_CTX_set_options(native, SSL_OP_NO_TICKET);
  SSL_CTX_set_num_tickets(native, 0);
  SSL_CTX_set_session_cache_mode(native, SSL_SESS_CACHE_OFF);
  boost::system::error_code ec;
  ctx.use_certificate_chain_file(files.cert, ec);
  if (ec) {
    error = "cannot use the certificate " + files.cert + ": " + ec.message();
    return false;
  }
  // An encrypted key fails here rather than prompt on a terminal.
  ctx.set_password_callback(
    [](std::size_t, ssl::context::password_purpose) { return std::string{}; },
    ec);
  ctx.use_private_key_file(files.key, ssl::context::pem, ec);
  if (ec) {
    error = "cannot use the key " + files.key + " with the certificate "
            + files.cert + ": " + ec.message();
    return false;
  }
  if (SSL_CTX_check_private_key(native) != 1) {
    error = "the key " + files.key + " does not belong to the certificate "
            + files.cert;
    return false;
  }
  ctx.load_verify_file(files.ca, ec); // the only trust anchor
  if (ec) {
    error = "cannot load the CA file " + files.ca + ": " + ec.message();
    return false;
  }
  auto mode = ssl::verify_peer;
  if (server)
    mode |= ssl::verify_fail_if_no_peer_cert;
  ctx.set_verify_mode(mode, ec);
  if (ec) {
    error = ec.message();
    return false;
  }
  return true;
}

} // namespace

std::shared_ptr<tls_contexts> load_tls(const tls_files& files,
                                       std::string& error) {
  auto out = std::make_shared<tls_contexts>();
  if (!check_own(files, error) || !configure(out->server, true, files, error)
      || !configure(out->client, false, files, error))
    return nullptr;
  return out;
}

} // namespace dlt::net
