import Foundation
@testable import ScanJobs
import Testing

/// Slide paths stay under the slide root: absolute paths, `..` components and symbolic links leading out are
/// refused; links that stay inside are followed.
struct SlideRootTests {
    /// root/a.svs, root/sub/b.svs, root/inside.svs → a.svs, root/sub/up.svs → ../a.svs (inside),
    /// root/out.svs → a file outside, root/outdir → a folder outside, root/loop → itself.
    static func layout() throws -> (root: SlideRoot, base: URL) {
        let base = try ScanJobFixtures.temporaryFolder()
        let fm = FileManager.default
        let root = base.appendingPathComponent("root"), outside = base.appendingPathComponent("outside")
        try fm.createDirectory(at: root.appendingPathComponent("sub"), withIntermediateDirectories: true)
        try fm.createDirectory(at: outside, withIntermediateDirectories: true)
        for file in [root.appendingPathComponent("a.svs"), root.appendingPathComponent("sub/b.svs"),
                     outside.appendingPathComponent("secret.svs")] {
            try Data("slide".utf8).write(to: file)
        }
        try fm.createSymbolicLink(atPath: root.appendingPathComponent("inside.svs").path, withDestinationPath: "a.svs")
        try fm.createSymbolicLink(atPath: root.appendingPathComponent("sub/up.svs").path, withDestinationPath: "../a.svs")
        try fm.createSymbolicLink(atPath: root.appendingPathComponent("out.svs").path,
                                  withDestinationPath: outside.appendingPathComponent("secret.svs").path)
        try fm.createSymbolicLink(atPath: root.appendingPathComponent("outdir").path, withDestinationPath: outside.path)
        try fm.createSymbolicLink(atPath: root.appendingPathComponent("loop").path, withDestinationPath: "loop")
        return (try SlideRoot(root.path), base)
    }

    @Test func filesUnderTheRootResolveThroughLinksThatStayInside() throws {
        let (root, base) = try Self.layout()
        let real = SlideRoot.realPath(base.path)! + "/root"
        #expect(root.path == real)
        #expect(try root.resolve("a.svs") == real + "/a.svs")
        #expect(try root.resolve("sub/b.svs") == real + "/sub/b.svs")
        #expect(try root.resolve("./sub//b.svs") == real + "/sub/b.svs")
        #expect(try root.resolve("inside.svs") == real + "/a.svs")
        #expect(try root.resolve("sub/up.svs") == real + "/a.svs")
    }

    @Test func escapesAreRefused() throws {
        let (root, base) = try Self.layout()
        #expect(throws: SlideRootError.absolute(base.path + "/outside/secret.svs")) {
            try root.resolve(base.path + "/outside/secret.svs")
        }
        #expect(throws: SlideRootError.absolute("/etc/passwd")) { try root.resolve("/etc/passwd") }
        #expect(throws: SlideRootError.parentComponent("../outside/secret.svs")) { try root.resolve("../outside/secret.svs") }
        #expect(throws: SlideRootError.parentComponent("sub/../a.svs")) { try root.resolve("sub/../a.svs") }
        #expect(throws: SlideRootError.parentComponent("sub/..")) { try root.resolve("sub/..") }
        #expect(throws: SlideRootError.outside("out.svs")) { try root.resolve("out.svs") }
        #expect(throws: SlideRootError.outside("outdir/secret.svs")) { try root.resolve("outdir/secret.svs") }
        for error in [SlideRootError.absolute("/x"), .parentComponent("../x"), .outside("out.svs")] {
            #expect(error.isMalformed)
        }
    }

    @Test func whatIsNotASlideFileIsRefusedClearly() throws {
        let (root, _) = try Self.layout()
        #expect(throws: SlideRootError.missing("none.svs")) { try root.resolve("none.svs") }
        #expect(throws: SlideRootError.missing("loop")) { try root.resolve("loop") }
        #expect(throws: SlideRootError.notAFile("sub")) { try root.resolve("sub") }
        #expect(throws: SlideRootError.notAFile(".")) { try root.resolve(".") }
        #expect { try root.resolve("") } throws: { ($0 as? SlideRootError)?.isMalformed == true }
        #expect { try root.resolve("a.svs\n") } throws: { ($0 as? SlideRootError)?.isMalformed == true }
        #expect { try root.resolve(String(repeating: "a", count: SlideRoot.maxPathBytes + 1)) } throws: {
            ($0 as? SlideRootError)?.isMalformed == true
        }
        #expect(!SlideRootError.missing("x").isMalformed && !SlideRootError.notAFile("x").isMalformed)
        // The message quotes the client's path, never the server's folders.
        #expect(!SlideRootError.outside("out.svs").description.contains(root.path))
    }

    @Test func theRootMustBeAFolder() throws {
        let (_, base) = try Self.layout()
        #expect(throws: SlideRootError.self) { try SlideRoot(base.appendingPathComponent("root/a.svs").path) }
        #expect(throws: SlideRootError.self) { try SlideRoot(base.appendingPathComponent("nothing").path) }
    }
}
