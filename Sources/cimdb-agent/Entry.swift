import AgentCLI
import ArgumentParser

/// `cimdb-agent`: the same as `cimdb agent`, in an executable without the rest of cimdb, for
/// the nodes (see README, "Footprint and load").
@main
struct Entry {
    static func main() async {
        await AgentCommand.main()
    }
}
