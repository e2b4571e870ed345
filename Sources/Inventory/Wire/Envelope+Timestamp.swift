import CIM
public import Foundation

extension Envelope {
    /// `date` as an envelope writes it: ISO 8601 in UTC with milliseconds,
    /// `2026-01-31T12:00:00.000Z` (milliseconds rounded down, after rounding to the microsecond
    /// so that binary fractions like -0.001 s land on their millisecond). Dates outside the
    /// years 0000–9999 are clamped to them.
    public static func timestamp(_ date: Date) -> String {
        let seconds = date.timeIntervalSince1970
        let clamped = seconds.isNaN ? 0 : min(max(seconds, -62_167_219_200), 253_402_300_799.999)
        let microseconds = Int64((clamped * 1_000_000).rounded())
        let milliseconds = microseconds >= 0 ? microseconds / 1000 : (microseconds - 999) / 1000
        let (days, dayMilliseconds) = milliseconds.quotientAndRemainder(dividingBy: 86_400_000)
        let (day, ms) = dayMilliseconds < 0 ? (days - 1, dayMilliseconds + 86_400_000) : (days, dayMilliseconds)
        // Days since 1970-01-01 to a civil date (H. Hinnant's days_from_civil, inverted).
        let z = day + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let mp = (5 * dayOfYear + 2) / 153
        let dayOfMonth = dayOfYear - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        let year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)
        func pad(_ n: Int64, _ width: Int) -> String {
            let text = String(n)
            return String(repeating: "0", count: max(0, width - text.count)) + text
        }
        return
            "\(pad(year, 4))-\(pad(month, 2))-\(pad(dayOfMonth, 2))T\(pad(ms / 3_600_000, 2)):\(pad(ms / 60_000 % 60, 2)):\(pad(ms / 1000 % 60, 2)).\(pad(ms % 1000, 3))Z"
    }

    /// Whether `text` is a timestamp as envelopes carry them: `YYYY-MM-DDTHH:MM:SS.mmmZ`, month
    /// 01–12, day 01–31, hour 00–23, minute 00–59, second 00–60 (a leap second).
    public static func isTimestamp(_ text: String) -> Bool {
        let u = Array(text.utf8)
        guard u.count == 24 else { return false }
        for (i, c) in u.enumerated() {
            let expected: UInt8? =
                switch i {
                case 4, 7: UInt8(ascii: "-")
                case 10: UInt8(ascii: "T")
                case 13, 16: UInt8(ascii: ":")
                case 19: UInt8(ascii: ".")
                case 23: UInt8(ascii: "Z")
                default: nil
                }
            if let expected { if c != expected { return false } } else if c < UInt8(ascii: "0") || c > UInt8(ascii: "9") { return false }
        }
        func number(_ range: Range<Int>) -> Int { u[range].reduce(0) { $0 * 10 + Int($1 - UInt8(ascii: "0")) } }
        return (1...12).contains(number(5..<7)) && (1...31).contains(number(8..<10)) && number(11..<13) < 24
            && number(14..<16) < 60 && number(17..<19) <= 60
    }
}
