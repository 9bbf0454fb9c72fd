import Foundation

/// One readable line for a `JSONDecoder` failure on a file's header or card: what is missing or mistyped and
/// where (`missing "weights.sha256"`, `wrong type at "statistics.mse.quantiles[3]"`), instead of Foundation's
/// multi-line dump. Shared by every JSON reader of untrusted files (safetensors headers, model cards,
/// calibration blocks).
///
/// ```swift
/// do { _ = try JSONDecoder().decode(Header.self, from: bytes) } catch { throw .malformed(DecodingFailure.describe(error)) }
/// ```
public enum DecodingFailure {
    public static func describe(_ error: any Error) -> String {
        func path(_ keys: [any CodingKey]) -> String {
            var text = ""
            for key in keys {
                if let index = key.intValue { text += "[\(index)]" } else { text += (text.isEmpty ? "" : ".") + key.stringValue }
            }
            return "\"\(text)\""
        }
        switch error {
        case DecodingError.keyNotFound(let key, let context): return "missing \(path(context.codingPath + [key]))"
        case DecodingError.typeMismatch(_, let context), DecodingError.valueNotFound(_, let context):
            return "wrong type at \(path(context.codingPath))"
        case DecodingError.dataCorrupted(let context):
            return context.codingPath.isEmpty ? context.debugDescription
                : "\(context.debugDescription) at \(path(context.codingPath))"
        default: return "\(error)"
        }
    }
}
