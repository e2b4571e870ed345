import NIOCore
import NIOHTTP1
import NIOPosix

/// Persistent HTTP/1.1 connections for simulated agents (benchmarks and tests only), on
/// SwiftNIO — already in the graph under Hummingbird.
///
/// Why not URLSession, as `cimdb bench server` uses: on Linux it is FoundationNetworking over
/// libcurl, and with thousands of long polls it spent more CPU than the server and the
/// database together (about 2 ms a request), so the benchmark measured its load generator.
/// Why not the agent's HTTPClient: a blocking thread per request, a connection per request.
/// Here a connection carries one request after another (pipelined, answers in order), all on
/// the event loops of one group.
final class LoopbackHTTP: Sendable {
    let group: MultiThreadedEventLoopGroup
    let host: String
    let port: Int

    init(host: String, port: Int, threads: Int = 1) {
        self.host = host
        self.port = port
        group = MultiThreadedEventLoopGroup(numberOfThreads: threads)
    }

    func connect() async throws -> LoopbackConnection {
        let channel = try await ClientBootstrap(group: group)
            .channelOption(.socketOption(.so_reuseaddr), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHTTPClientHandlers()
                    try channel.pipeline.syncOperations.addHandler(NIOHTTPClientResponseAggregator(maxContentLength: 256 << 20))
                    try channel.pipeline.syncOperations.addHandler(AnswerHandler())
                }
            }
            .connect(host: host, port: port).get()
        let handler = try await channel.pipeline.handler(type: AnswerHandler.self).map { NIOLoopBound($0, eventLoop: channel.eventLoop) }.get()
        return LoopbackConnection(channel: channel, handler: handler, host: "\(host):\(port)")
    }

    func shutdown() async {
        try? await group.shutdownGracefully()
    }
}

/// One kept-alive connection; requests go out in order and are answered in order.
final class LoopbackConnection: Sendable {
    struct Answer: Sendable {
        var status: Int
        var headers: HTTPHeaders
        var body: [UInt8]
    }

    let channel: any Channel
    let handler: NIOLoopBound<AnswerHandler>
    let host: String

    init(channel: any Channel, handler: NIOLoopBound<AnswerHandler>, host: String) {
        self.channel = channel
        self.handler = handler
        self.host = host
    }

    func send(_ method: HTTPMethod, _ path: String, headers: [(String, String)], body: [UInt8]) async throws -> Answer {
        let channel = channel, handler = handler, host = host
        let answer = try await channel.eventLoop.flatSubmit { () -> EventLoopFuture<NIOHTTPClientResponseFull> in
            let promise = channel.eventLoop.makePromise(of: NIOHTTPClientResponseFull.self)
            handler.value.waiting.append(promise)
            var head = HTTPRequestHead(version: .http1_1, method: method, uri: path)
            head.headers.add(name: "Host", value: host)
            head.headers.add(name: "Content-Length", value: String(body.count))
            for (name, value) in headers { head.headers.add(name: name, value: value) }
            channel.write(HTTPClientRequestPart.head(head), promise: nil)
            if !body.isEmpty { channel.write(HTTPClientRequestPart.body(.byteBuffer(ByteBuffer(bytes: body))), promise: nil) }
            channel.writeAndFlush(HTTPClientRequestPart.end(nil), promise: nil)
            return promise.futureResult
        }.get()
        return Answer(
            status: Int(answer.head.status.code), headers: answer.head.headers, body: answer.body.map { Array($0.readableBytesView) } ?? [])
    }

    func close() {
        channel.close(promise: nil)
    }
}

/// Fulfils the waiting requests in order; fails them all when the connection ends.
final class AnswerHandler: ChannelInboundHandler {
    typealias InboundIn = NIOHTTPClientResponseFull

    var waiting = CircularBuffer<EventLoopPromise<NIOHTTPClientResponseFull>>()

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let answer = unwrapInboundIn(data)
        if !waiting.isEmpty { waiting.removeFirst().succeed(answer) }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        while !waiting.isEmpty { waiting.removeFirst().fail(error) }
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        while !waiting.isEmpty { waiting.removeFirst().fail(ChannelError.ioOnClosedChannel) }
    }
}
