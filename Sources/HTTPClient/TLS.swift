import CLibSSL
import Glibc

/// TLS for `https://` servers: OpenSSL (the system's libssl), driven over the exchange's
/// non-blocking socket. Written against OpenSSL directly because the listed libraries have no
/// TLS client that works on a plain socket (swift-nio-ssl needs NIO channels; URLSession is
/// what the agent dropped), and the agent needs nothing more than a verified TLS 1.2+ stream.
///
/// The peer is verified against `caFile` — a CA, or the server's own certificate (a
/// self-signed one is accepted as its own anchor) — or, without one, the system's CAs; its
/// name must match the URL's host (an IP address matches an IP SAN).
public final class TLSContext: @unchecked Sendable {
    // @unchecked: an SSL_CTX is safe to share between threads once configured (OpenSSL ≥ 1.1).
    let context: OpaquePointer
    public let caFile: String?

    public init(caFile: String?) throws(HTTPClientError) {
        guard let context = SSL_CTX_new(TLS_client_method()) else { throw .tls(TLSContext.lastError("cannot create a TLS context")) }
        self.context = context
        self.caFile = caFile
        cimdb_ssl_ctx_set_min_tls12(context)
        SSL_CTX_set_verify(context, SSL_VERIFY_PEER, nil)
        if let caFile {
            guard SSL_CTX_load_verify_locations(context, caFile, nil) == 1 else {
                throw .tls(TLSContext.lastError("cannot read the CA certificates in \(caFile)"))
            }
            cimdb_ssl_ctx_allow_partial_chain(context)
        } else if SSL_CTX_set_default_verify_paths(context) != 1 {
            throw .tls(TLSContext.lastError("cannot read the system's CA certificates"))
        }
    }

    deinit { SSL_CTX_free(context) }

    /// OpenSSL's last error on this thread, after `what`.
    static func lastError(_ what: String) -> String {
        let code = ERR_get_error()
        ERR_clear_error()
        guard code != 0 else { return what }
        var buffer = [UInt8](repeating: 0, count: 256)
        buffer.withUnsafeMutableBufferPointer {
            ERR_error_string_n(code, $0.baseAddress.map { UnsafeMutableRawPointer($0).assumingMemoryBound(to: CChar.self) }, $0.count)
        }
        return what + ": " + String(decoding: buffer.prefix { $0 != 0 }, as: UTF8.self)
    }
}

/// One TLS connection on a connected non-blocking socket.
struct TLSSession {
    let ssl: OpaquePointer

    init(socket: Int32, host: String, context: TLSContext) throws(HTTPClientError) {
        guard let ssl = SSL_new(context.context) else { throw .tls(TLSContext.lastError("cannot create a TLS session")) }
        self.ssl = ssl
        SSL_set_fd(ssl, socket)
        var address = in6_addr()
        let isIP = inet_pton(AF_INET, host, &address) == 1 || inet_pton(AF_INET6, host, &address) == 1
        if !isIP { cimdb_ssl_set_sni(ssl, host) }
        guard cimdb_ssl_expect_host(ssl, host, isIP ? 1 : 0) == 1 else {
            SSL_free(ssl)
            throw .tls(TLSContext.lastError("cannot check the server's name \(host)"))
        }
    }

    func free() { SSL_free(ssl) }

    /// What a call that did not complete waits for.
    enum Progress {
        case done(Int)
        case wantRead
        case wantWrite
        case closed
    }

    func handshake() throws(HTTPClientError) -> Progress {
        let result = SSL_connect(ssl)
        if result == 1 { return .done(0) }
        return try progress(result, "TLS handshake")
    }

    func read(into buffer: UnsafeMutableRawBufferPointer) throws(HTTPClientError) -> Progress {
        let result = SSL_read(ssl, buffer.baseAddress, Int32(buffer.count))
        if result > 0 { return .done(Int(result)) }
        return try progress(result, "TLS read")
    }

    func write(_ buffer: UnsafeRawBufferPointer) throws(HTTPClientError) -> Progress {
        let result = SSL_write(ssl, buffer.baseAddress, Int32(buffer.count))
        if result > 0 { return .done(Int(result)) }
        return try progress(result, "TLS write")
    }

    private func progress(_ result: Int32, _ what: String) throws(HTTPClientError) -> Progress {
        switch SSL_get_error(ssl, result) {
        case SSL_ERROR_WANT_READ: return .wantRead
        case SSL_ERROR_WANT_WRITE: return .wantWrite
        case SSL_ERROR_ZERO_RETURN: return .closed
        case SSL_ERROR_SYSCALL where errno == 0 || errno == ECONNRESET || errno == EPIPE:
            ERR_clear_error()
            return .closed
        default:
            let verify = SSL_get_verify_result(ssl)
            if verify != X509_V_OK {
                ERR_clear_error()
                throw .tls("\(what): the server's certificate is not trusted: \(String(cString: X509_verify_cert_error_string(verify)))")
            }
            throw .tls(TLSContext.lastError(what))
        }
    }
}
