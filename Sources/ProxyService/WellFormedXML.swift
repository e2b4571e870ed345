import CLibXML2
import Foundation

/// Checks that a document is well-formed XML (libxml2, no network, no entity expansion):
/// capabilities on registration, and back-channel requests, are checked before they are taken.
public enum WellFormedXML {
    /// nil when well-formed; else libxml2's message with its line and column.
    public static func problem(_ bytes: [UInt8]) -> String? {
        guard !bytes.isEmpty else { return "the document is empty" }
        let options = Int32(XML_PARSE_NONET.rawValue | XML_PARSE_NOERROR.rawValue | XML_PARSE_NOWARNING.rawValue)
        let document = bytes.withUnsafeBufferPointer { buffer in
            buffer.baseAddress!.withMemoryRebound(to: CChar.self, capacity: buffer.count) {
                xmlReadMemory($0, Int32(buffer.count), "capabilities.xml", nil, options)
            }
        }
        if let document {
            xmlFreeDoc(document)
            return nil
        }
        guard let error = xmlGetLastError() else { return "not well-formed XML" }
        let message = error.pointee.message.map { String(cString: $0).trimmingCharacters(in: .whitespacesAndNewlines) } ?? "not well-formed XML"
        return "line \(error.pointee.line), column \(error.pointee.int2): \(message)"
    }
}
