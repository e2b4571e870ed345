import Foundation
import Inventory

/// The bash helpers scripts get (SPEC §4): `scripts/helpers.sh`, shipped in the binary and
/// written to the state directory, where `BASH_ENV` and `CIMDB_HELPERS` point.
enum Helpers {
    static var script: [UInt8] { DefaultConfiguration.script("helpers.sh") ?? Array("# cimdb helpers missing from this build\n".utf8) }
}
