import Foundation

/// A file mapped read-only into memory, unmapped when the last holder lets go.
///
/// A loaded snapshot's posting streams and stored articles are read where they lie in the file instead of being
/// copied out of it: loading costs no fresh pages to zero and fill, and the kernel pages the stored articles
/// (read only for the hits shown) in and out as they are used. Replacing the snapshot renames a new file over
/// the old, so a mapping never sees the file change under it.
final class FileMapping: @unchecked Sendable {
    // @unchecked: the mapping is read-only and never changes after init.
    let bytes: UnsafeRawBufferPointer

    init(path: String) throws {
        let descriptor = open(path, O_RDONLY)
        guard descriptor >= 0 else { throw IndexSnapshot.Invalid(description: "no snapshot at \(path)") }
        defer { close(descriptor) }
        var status = stat()
        guard fstat(descriptor, &status) == 0 else { throw IndexSnapshot.Invalid(description: "cannot stat \(path): \(String(cString: strerror(errno)))") }
        let size = Int(status.st_size)
        guard size > 0 else { throw IndexSnapshot.Invalid(description: "\(path) is empty") }
        guard let base = mmap(nil, size, PROT_READ, MAP_PRIVATE, descriptor, 0), base != MAP_FAILED else {
            throw IndexSnapshot.Invalid(description: "cannot map \(path): \(String(cString: strerror(errno)))")
        }
        bytes = UnsafeRawBufferPointer(start: base, count: size)
    }

    /// Drops this process's hold on the pages read so far; they stay in the page cache, and reading them again
    /// maps them back without copying.
    func releaseResidentPages() {
        madvise(UnsafeMutableRawPointer(mutating: bytes.baseAddress), bytes.count, MADV_DONTNEED)
    }

    deinit { munmap(UnsafeMutableRawPointer(mutating: bytes.baseAddress), bytes.count) }
}
