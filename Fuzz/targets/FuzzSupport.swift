// Compiled into every Swift fuzz target by scripts/fuzz.sh.

/// Stops the run when an invariant of the parser's result is broken; libFuzzer reports that as a crash and
/// saves the input. Unlike `precondition`, the message survives -O (the targets' optimisation level).
///
/// ```swift
/// require(part.content.upperBound <= body.count, "part \(index) runs past the body")
/// ```
func require(_ condition: @autoclosure () -> Bool, _ message: @autoclosure () -> String,
             file: StaticString = #fileID, line: UInt = #line) {
    if !condition() { fatalError("fuzz invariant broken: \(message())", file: file, line: line) }
}
