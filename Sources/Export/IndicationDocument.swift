import CIM
import ORM
import SQLCore
import Store

/// One inventory change event (a row of `cimdb.event`) as an indication is made of it.
public struct ChangeEvent: Sendable {
    public var id: Int64
    /// CIM datetime, `yyyymmddhhmmss.mmmmmm+000`.
    public var time: String
    /// created, deleted or changed.
    public var kind: String
    public var instancePath: String
    public var severity: String
    /// The instance as it is now (its `INSTANCE` element), when it still exists.
    public var sourceInstance: String?

    public init(id: Int64, time: String, kind: String, instancePath: String, severity: String, sourceInstance: String?) {
        self.id = id
        self.time = time
        self.kind = kind
        self.instancePath = instancePath
        self.severity = severity
        self.sourceInstance = sourceInstance
    }
}

/// A CIM-XML export message (DSP0201 §5.3, ExportIndication) carrying inventory changes as the
/// standard indications CIM_InstCreation, CIM_InstModification and CIM_InstDeletion — what WBEM
/// listeners receive (pywbem's WBEMListener, for one): one SIMPLEEXPREQ for one event, a
/// MULTIEXPREQ for several, in event order.
public enum IndicationDocument {
    public static func make(events: [ChangeEvent], messageID: String, host: String, namespace: [String] = ["root", "cimv2"]) throws -> [UInt8] {
        var bytes: [UInt8] = []
        let writer = try XMLWriter(
            sink: XMLSink {
                bytes.append(contentsOf: $0); return true
            })
        try writer.start("CIM")
        try writer.attribute("CIMVERSION", "2.0")
        try writer.attribute("DTDVERSION", "2.4")
        try writer.start("MESSAGE")
        try writer.attribute("ID", messageID)
        try writer.attribute("PROTOCOLVERSION", "1.0")
        if events.count > 1 { try writer.start("MULTIEXPREQ") }
        for event in events {
            try writer.start("SIMPLEEXPREQ")
            try writer.start("EXPMETHODCALL")
            try writer.attribute("NAME", "ExportIndication")
            try writer.start("EXPPARAMVALUE")
            try writer.attribute("NAME", "NewIndication")
            try writer.start("INSTANCE")
            try writer.attribute("CLASSNAME", indicationClass(event.kind))
            try property(writer, "IndicationIdentifier", "string", "cimdb:\(event.id)")
            try property(writer, "IndicationTime", "datetime", event.time)
            try property(writer, "PerceivedSeverity", "uint16", String(perceivedSeverity(event.severity)))
            try property(writer, "SourceInstanceHost", "string", host)
            try property(writer, "SourceInstanceModelPath", "string", "/" + namespace.joined(separator: "/") + ":" + event.instancePath)
            if let instance = event.sourceInstance, event.kind != "deleted" {
                try writer.start("PROPERTY")
                try writer.attribute("NAME", "SourceInstance")
                try writer.attribute("TYPE", "string")
                try writer.attribute("EmbeddedObject", "instance")
                try writer.element("VALUE", text: instance)
                try writer.end()
            }
            try writer.end()
            try writer.end()
            try writer.end()
            try writer.end()
        }
        if events.count > 1 { try writer.end() }
        try writer.end()
        try writer.end()
        try writer.finish()
        return bytes
    }

    static func indicationClass(_ kind: String) -> String {
        switch kind {
        case "created": "CIM_InstCreation"
        case "deleted": "CIM_InstDeletion"
        default: "CIM_InstModification"
        }
    }

    /// CIM_Indication.PerceivedSeverity: 2 Information, 3 Degraded/Warning, 5 Major, 6 Critical.
    static func perceivedSeverity(_ severity: String) -> Int {
        switch severity {
        case "warning": 3
        case "error": 5
        case "critical": 6
        default: 2
        }
    }

    private static func property(_ writer: XMLWriter, _ name: String, _ type: String, _ value: String) throws {
        try writer.start("PROPERTY")
        try writer.attribute("NAME", name)
        try writer.attribute("TYPE", type)
        try writer.element("VALUE", text: value)
        try writer.end()
    }
}
