import Foundation
import NIOConcurrencyHelpers
import SlideReading

/// The viewer's slides, kept open between requests: a Deep Zoom view asks for dozens of tiles of one slide, and
/// opening an SVS with OpenSlide (parsing its TIFF directories) costs several times what reading one tile from an
/// open handle does. Keeps the ``capacity`` most recently used slides, by resolved path. A kept slide is handed
/// out only while the file at that path is the one it opened (same device, inode, size and modification time),
/// and ``drop(_:)`` forgets one whose read failed (OpenSlide leaves such a handle in a permanent error state).
///
/// Opening runs outside the lock, so a slow open of one slide never holds up another's tiles. A forgotten slide
/// closes when its last reader lets go of it (``Slide``'s `deinit`): never under a reader, never under the lock.
///
/// ```swift
/// let slides = OpenSlides(capacity: configuration.scans.openSlides)   // --open-slides
/// let slide = try slides.open(path: resolved)          // the same Slide for every tile of an unchanged file
/// do { … try slide.read(region:level:) … } catch let error as SlideError { slides.drop(slide); throw error }
/// ```
final class OpenSlides: Sendable {
    /// What identifies the file a slide was opened from: a path that now names another file (replaced, rewritten)
    /// opens that file instead.
    struct FileIdentity: Equatable, Sendable {
        let device: UInt64, inode: UInt64, size: Int64, modifiedSeconds: Int64, modifiedNanoseconds: Int64

        /// The file at `path` now, or nil if it cannot be examined (the open then reports why).
        init?(path: String) {
            var info = stat()
            guard stat(path, &info) == 0 else { return nil }
            device = UInt64(info.st_dev)
            inode = UInt64(info.st_ino)
            size = Int64(info.st_size)
            modifiedSeconds = Int64(info.st_mtim.tv_sec)
            modifiedNanoseconds = Int64(info.st_mtim.tv_nsec)
        }
    }

    private struct Entry {
        let path: String
        let identity: FileIdentity
        let slide: Slide
    }

    /// Most slides kept open at once.
    let capacity: Int
    /// Kept slides, least recently used first.
    private let entries = NIOLockedValueBox<[Entry]>([])

    /// - Parameter capacity: at least 1.
    init(capacity: Int) {
        precondition(capacity >= 1, "OpenSlides keeps at least one slide")
        self.capacity = capacity
    }

    /// The slide at `path` (already resolved under the slide root): the kept one if the file is unchanged, else
    /// a fresh open, kept in place of the least recently used one when full.
    func open(path: String) throws(SlideError) -> Slide {
        let identity = FileIdentity(path: path)
        if let identity, let kept = entries.withLockedValue({ list -> Slide? in
            guard let index = list.firstIndex(where: { $0.path == path && $0.identity == identity }) else { return nil }
            list.append(list.remove(at: index))
            return list[list.count - 1].slide
        }) {
            return kept
        }
        let slide = try Slide(path: path)
        guard let identity else { return slide }   // opened, but nothing to check it against later: not kept
        let forgotten = entries.withLockedValue { list -> [Entry] in
            var forgotten = list.filter { $0.path == path }
            list.removeAll { $0.path == path }
            list.append(Entry(path: path, identity: identity, slide: slide))
            if list.count > capacity {
                forgotten += list.prefix(list.count - capacity)
                list.removeFirst(list.count - capacity)
            }
            return forgotten
        }
        withExtendedLifetime(forgotten) {}   // a slide no reader holds closes here, outside the lock
        return slide
    }

    /// Forgets `slide` if it is kept (after a failed read): the next request for its path opens it again.
    func drop(_ slide: Slide) {
        let forgotten = entries.withLockedValue { list -> [Entry] in
            defer { list.removeAll { $0.slide === slide } }
            return list.filter { $0.slide === slide }
        }
        withExtendedLifetime(forgotten) {}
    }

    /// How many slides are kept now.
    var count: Int { entries.withLockedValue { $0.count } }
}
