import CIM
@testable import MOF
import TestSupport
import Testing

/// The real DMTF CIM Schema 2.51.0 compiles without errors and resolves to the numbers the
/// schema is known to hold (counted independently with pywbem).
@Suite struct SchemaTests {
    let compilation: Compilation
    var model: Model { compilation.model }

    /// The schema compiles once per run, off the cooperative pool (see `offThePool`).
    init() async throws { compilation = try await offThePool { DMTFSchema.compilation } }

    @Test func compilesWithoutDiagnostics() {
        #expect(compilation.diagnostics.isEmpty, "\(compilation.diagnostics.prefix(5).map(\.description))")
        #expect(compilation.files.count == 1897)
    }

    @Test func holdsTheKnownCounts() {
        let s = model.statistics
        #expect(s.qualifierDeclarations == 70)
        #expect(s.classes == 1894)
        #expect(s.associations == 720)
        #expect(s.indications == 30)
        #expect(s.properties == 33_744)
        #expect(s.keys == 4_445)
        #expect(s.methods == 2_911)
        #expect(s.instances == 0)
    }

    @Test func resolvesEthernetPortKeysAndOrigins() throws {
        let port = try #require(model.class(named: "cim_ethernetport"))
        #expect(port.name == "CIM_EthernetPort")
        #expect(port.superclass == "CIM_NetworkPort")
        #expect(port.keys.map(\.name).sorted() == ["CreationClassName", "DeviceID", "SystemCreationClassName", "SystemName"])
        for key in port.keys {
            #expect(key.classOrigin == "CIM_LogicalDevice")
            #expect(key.propagated)
        }
        // PortType is declared in CIM_LogicalPort and overridden in CIM_NetworkPort and here.
        let portType = try #require(port.property(named: "PortType"))
        #expect(portType.classOrigin == "CIM_LogicalPort")
        #expect(!portType.propagated)
        #expect(portType.qualifiers.strings("ValueMap")?.contains("16000..65535") == true)
        // Speed is inherited unchanged.
        let speed = try #require(port.property(named: "speed"))
        #expect(speed.propagated)
        #expect(speed.type == .uint64)
        #expect(speed.qualifiers["Units"] != nil)
    }

    @Test func restrictedQualifiersDoNotPropagate() throws {
        // CIM_LogicalDevice is Abstract (Restricted): its subclasses are not abstract unless they say so.
        let device = try #require(model.class(named: "CIM_LogicalDevice"))
        #expect(device.isAbstract)
        let port = try #require(model.class(named: "CIM_EthernetPort"))
        #expect(!port.isAbstract)
        #expect(port.qualifiers["Abstract"] == nil)
        // Override is Restricted: CIM_SettingData overrides InstanceID; its subclasses inherit
        // InstanceID without the Override qualifier.
        let settingData = try #require(model.class(named: "CIM_SettingData"))
        #expect(settingData.property(named: "InstanceID")?.qualifiers["Override"] != nil)
        let account = try #require(model.class(named: "CIM_AccountSettingData"))
        #expect(account.superclass == "CIM_SettingData")
        let instanceID = try #require(account.property(named: "InstanceID"))
        #expect(instanceID.propagated)
        #expect(instanceID.classOrigin == "CIM_ManagedElement")
        #expect(instanceID.qualifiers["Override"] == nil)
        #expect(instanceID.qualifiers["Key"]?.propagated == true)
    }

    @Test func associationsAreAssociationsThroughInheritance() throws {
        let systemDevice = try #require(model.class(named: "CIM_SystemDevice"))
        #expect(systemDevice.isAssociation)
        #expect(systemDevice.references.map(\.name) == ["GroupComponent", "PartComponent"])
        #expect(systemDevice.references.map { $0.referenceClass } == ["CIM_System", "CIM_LogicalDevice"])
        // Key and Association are DisableOverride + ToSubclass: inherited with their flavor.
        let key = try #require(systemDevice.references.first?.qualifiers["Key"])
        #expect(key.flavor.overridable == false)
        #expect(key.flavor.toSubclass)
    }

    @Test func qualifierDeclarationsKeepTheirFlavorsAndScopes() throws {
        let description = try #require(model.qualifierDeclaration(named: "description"))
        #expect(description.type == .string)
        #expect(description.scope == .any)
        #expect(description.flavor == Flavor(toSubclass: true, overridable: true, translatable: true))
        let valueMap = try #require(model.qualifierDeclaration(named: "ValueMap"))
        #expect(valueMap.isArray)
        #expect(valueMap.flavor == .default)
        let key = try #require(model.qualifierDeclaration(named: "KEY"))
        #expect(key.scope == [.property, .reference])
        #expect(key.defaultValue == .boolean(false))
        let propertyUsage = try #require(model.qualifierDeclaration(named: "PropertyUsage"))
        #expect(propertyUsage.defaultValue == .string("CurrentContext"))
    }

    @Test func methodsKeepParameterOrder() throws {
        let element = try #require(model.class(named: "CIM_EnabledLogicalElement"))
        let request = try #require(element.method(named: "RequestStateChange"))
        #expect(request.returnType == .uint32)
        #expect(request.parameters.map(\.name) == ["RequestedState", "Job", "TimeoutPeriod"])
        #expect(request.parameters[1].type == .reference)
        #expect(request.parameters[1].referenceClass == "CIM_ConcreteJob")
        #expect(request.parameters[1].qualifiers.isTrue("Out"))
        #expect(request.parameters[2].type == .datetime)
    }
}
