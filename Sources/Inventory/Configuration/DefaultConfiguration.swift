import CIM
import Foundation

/// The default inventory configuration shipped with cimdb (`scripts/inventory.yaml` and the
/// scripts under `scripts/linux/`, embedded in the binary): seven settings for the default
/// model and the discovery monitor `default`.
public enum DefaultConfiguration {
    /// The path the configuration is reported under in messages.
    public static let file = "scripts/inventory.yaml"

    public static func load() throws(ConfigurationErrors) -> InventoryConfiguration {
        var reader = ConfigurationFile(
            file: file, baseDirectory: "",
            readFile: { path in
                EmbeddedScripts.files[path].flatMap { Data(base64Encoded: $0) }.map { [UInt8]($0) }
            })
        guard let yaml = EmbeddedScripts.files["inventory.yaml"].flatMap({ Data(base64Encoded: $0) }) else {
            throw ConfigurationErrors([ConfigurationError(file: file, "the default configuration is missing from this build")])
        }
        return try reader.parse(String(decoding: yaml, as: UTF8.self))
    }

    /// A node-side script by its path under `scripts/` (e.g. `linux/processor.sh`).
    public static func script(_ path: String) -> [UInt8]? {
        EmbeddedScripts.files[path].flatMap { Data(base64Encoded: $0) }.map { [UInt8]($0) }
    }
}
