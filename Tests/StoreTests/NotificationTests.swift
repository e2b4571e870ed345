@testable import Store
import Testing

@Suite("LISTEN and NOTIFY")
struct NotificationTests {
    @Test("a notification reaches a listener on another connection, with any channel name")
    func acrossConnections() async throws {
        let conninfo = try await SharedDatabase.conninfo()
        let channel = "cimdb \"events\" " + uniqueName("ch")
        let (received, senderPID) = try await withConnection(to: conninfo) { listener in
            try listener.listen(channel)
            let sender = try Connection(conninfo)
            defer { sender.close() }
            try sender.notify(channel, payload: "hello 'world' ✓")
            return (try listener.notifications(timeout: .seconds(10)), sender.backendProcessID)
        }
        #expect(received.count == 1)
        #expect(received.first?.channel == channel)
        #expect(received.first?.payload == "hello 'world' ✓")
        #expect(received.first?.processID == senderPID)
    }

    @Test("nothing arrives before the timeout; a notification sent in a transaction arrives at commit")
    func timeoutAndCommit() async throws {
        let conninfo = try await SharedDatabase.conninfo()
        let channel = uniqueName("ch")
        let (beforeCommit, afterCommit, empty) = try await withConnection(to: conninfo) { listener in
            try listener.listen(channel)
            let empty = try listener.notifications(timeout: .milliseconds(100))
            let sender = try Connection(conninfo)
            defer { sender.close() }
            var beforeCommit: [Notification] = []
            try sender.transaction { sender in
                try sender.notify(channel, payload: "1")
                try sender.notify(channel, payload: "2")
                beforeCommit = try listener.notifications(timeout: .milliseconds(100))
            }
            var afterCommit: [Notification] = []
            while afterCommit.count < 2 {
                let batch = try listener.notifications(timeout: .seconds(10))
                if batch.isEmpty { break }
                afterCommit += batch
            }
            return (beforeCommit, afterCommit, empty)
        }
        #expect(empty.isEmpty)
        #expect(beforeCommit.isEmpty)
        #expect(afterCommit.map(\.payload) == ["1", "2"])
    }
}
