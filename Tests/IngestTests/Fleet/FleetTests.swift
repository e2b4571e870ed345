import Fleet
import Foundation
import Ingest
import Inventory
import Store
import Testing
import SQLCore

@Suite("Synthetic fleet")
struct FleetTests {
    let configuration: InventoryConfiguration

    init() throws { configuration = try Fleet.benchmarkConfiguration() }

    @Test("the same seed gives the same node; sizes stay in the brief's ranges")
    func deterministicAndSized() throws {
        let fleet = Fleet(size: 50, seed: 7, configuration: configuration)
        #expect(fleet.node(3) == Fleet(size: 50, seed: 7, configuration: configuration).node(3))
        #expect(fleet.node(3) != Fleet(size: 50, seed: 8, configuration: configuration).node(3))
        for i in 0..<50 {
            let node = fleet.node(i)
            #expect(node.objects["ComputerSystem"]?.count == 1)
            #expect((2...64).contains(node.objects["Processor"]?.count ?? 0))
            #expect((2...16).contains(node.objects["PhysicalMemory"]?.count ?? 0))
            #expect(node.objects["Mainboard"]?.count == 1)
            #expect((2...20).contains(node.objects["FileSystem"]?.count ?? 0))
            #expect((2...8).contains(node.objects["EthernetPort"]?.count ?? 0))
            #expect(node.objects["IPProtocolEndpoint"]?.count == node.objects["EthernetPort"]?.count)
            #expect(node.associationCount == node.instanceCount - 1)  // everything but the system hangs off one association
        }
        #expect(fleet.updatedProperties.count == 23)
    }

    @Test("a changed round changes about the fraction asked, and only values")
    func changes() throws {
        let fleet = Fleet(size: 1, seed: 3, configuration: configuration)
        let before = fleet.node(0), after = fleet.node(0, round: 1, fraction: 0.1)
        var total = 0, changed = 0
        for (settings, objects) in before.objects {
            for (old, new) in zip(objects, after.objects[settings]!) {
                #expect(old.keys == new.keys)
                for (property, value) in old.values {
                    total += 1
                    if new.values[property] != value { changed += 1 }
                }
            }
        }
        #expect(changed > 0 && Double(changed) < Double(total) * 0.25, "\(changed) of \(total) changed")
        #expect(before.associations == after.associations)
    }

    @Test("fleet results apply without a single rejection, and give the brief's inventory")
    func applies() async throws {
        let pool = try await inventoryDatabase(configured: false)
        let fleet = Fleet(size: 3, seed: 11, configuration: configuration)
        try await pool.withConnection { connection in
            try ConfigurationStore.apply(configuration, on: connection)
            var instances = 0
            for i in 0..<fleet.size {
                let node = fleet.node(i)
                instances += node.instanceCount + node.associationCount
                let outcome = try connection.discover(fleet.discoveryResult(node, sequence: 1))
                #expect(outcome.errors == [], "\(outcome)")
                for update in fleet.updateResults(node, sequence: 1) {
                    let outcome = try connection.apply(update)
                    #expect(outcome.errors == [], "\(outcome)")
                }
            }
            #expect(try connection.count("SELECT 1 FROM cimdb.instance") == instances)
            #expect(try connection.count("SELECT 1 FROM cimdb.update_deployment") == 23 * fleet.size)
            // Every updated property of every instance got its value (IPv6Address may be empty).
            #expect(try connection.count("SELECT 1 FROM cim.cim_processor WHERE currentclockspeed IS NULL OR description IS NULL") == 0)
            #expect(try connection.count("SELECT 1 FROM cim.cim_filesystem WHERE availablespace IS NULL") == 0)
            #expect(try connection.count("SELECT 1 FROM cim.cim_ethernetport WHERE cardinality(networkaddresses) < 1") == 0)
        }
    }
}
