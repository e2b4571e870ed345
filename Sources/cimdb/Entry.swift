import ArgumentParser
import CLI

/// The `cimdb` executable: everything lives in the CLI module's command tree.
@main
struct Entry {
    static func main() async {
        await Cimdb.main()
    }
}
