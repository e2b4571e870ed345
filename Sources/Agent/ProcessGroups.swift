import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// The process groups of the scripts running now, one file each in the state directory's
/// `running/` (`PGID` holding the group leader's start time and what it runs), so that a
/// script never outlives its agent unnoticed: an agent killed with SIGKILL cannot kill its
/// scripts' groups, but the next start finds the files, kills each group that is still the
/// one recorded (same start time: not a reused process id) and reports every interrupted run.
///
/// A script started in the instant between its spawn and its file being written is not
/// recorded; its timeout does not apply either once the agent is gone. The window is a few
/// microseconds against script runs of seconds.
struct ProcessGroups: Sendable {
    let directory: String
    let queue: BlockingQueue

    /// Records a running group.
    func started(_ group: Int32, running label: String) async {
        let path = directory + "/" + String(group)
        let text = "\(Self.startTime(of: group).map(String.init) ?? "?") \(label)\n"
        _ = await queue.run { StateFile.writeAtomically(Array(text.utf8), to: path) }
    }

    func finished(_ group: Int32) async {
        let path = directory + "/" + String(group)
        _ = await queue.run { unlink(path) }
    }

    /// Records a monitor run from its start until its result is journaled (`run-NAME`), so that
    /// a run the agent was killed in — during its scripts or after them, before the journal had
    /// it — is reported at the next start, not lost without a word.
    func runStarted(_ name: String, label: String) async {
        let path = directory + "/run-" + name
        _ = await queue.run {
            StateFile.writeAtomically(Array("- \(label)\n".utf8), to: path)
        }
    }

    func runJournaled(_ name: String) async {
        let path = directory + "/run-" + name
        _ = await queue.run { unlink(path) }
    }

    /// What the start found of an earlier agent's runs.
    struct Leftover: Sendable, CustomStringConvertible {
        var group: Int32
        var label: String
        /// The group was still running and was killed now.
        var killed: Bool
        /// false: a monitor run whose result never reached the journal.
        var journaled = true

        var description: String {
            if !journaled { return "\(label) was interrupted when its agent stopped, before its result was journaled: it runs again" }
            return killed
                ? "\(label) (process group \(group)) was still running after its agent stopped: killed"
                : "\(label) (process group \(group)) was interrupted when its agent stopped"
        }
    }

    /// Kills the groups an earlier agent left running and forgets every recorded run.
    func reapLeftovers() async -> [Leftover] {
        let directory = directory
        return await queue.run {
            var leftovers: [Leftover] = []
            for name in (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? [] {
                let path = directory + "/" + name
                defer { unlink(path) }
                if name.hasPrefix("run-") {
                    let label = (try? String(contentsOfFile: path, encoding: .utf8))?.dropFirst(2).trimmingCharacters(in: .newlines)
                    leftovers.append(Leftover(group: 0, label: label ?? String(name.dropFirst(4)), killed: false, journaled: false))
                    continue
                }
                guard let group = Int32(name), group > 1, let text = try? String(contentsOfFile: path, encoding: .utf8) else { continue }
                let parts = text.trimmingCharacters(in: .newlines).split(separator: " ", maxSplits: 1).map(String.init)
                let recorded = parts.first.flatMap { UInt64($0) }
                let label = parts.count > 1 ? parts[1] : "a script"
                // Only the very process recorded: a process id reused since is not ours to kill.
                let alive = recorded != nil && Self.startTime(of: group) == recorded
                if alive { kill(-group, SIGKILL) }
                leftovers.append(Leftover(group: group, label: label, killed: alive))
            }
            return leftovers
        }
    }

    /// The start time of a process (clock ticks since boot, `/proc/PID/stat` field 22); nil
    /// when there is no such process.
    static func startTime(of pid: Int32) -> UInt64? {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let close = stat.lastIndex(of: ")")
        else { return nil }
        // After "PID (COMM)": field 3 (state) onwards; the start time is field 22.
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        guard fields.count > 19 else { return nil }
        return UInt64(fields[19])
    }
}
