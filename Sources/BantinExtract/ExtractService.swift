import BantinCore
import BantinRPC

/// bantin-extract's RPC service: `Extract` runs the extractor on one article's text.
public struct ExtractService: RPCService {
    public static let defaultPort = 7402
    let extractor: Extractor

    public init(extractor: Extractor = Extractor()) { self.extractor = extractor }

    public func register(on router: inout Router) {
        // CPU-bound: runs on the cooperative pool, not on the connection's event loop.
        router.unary(ExtractAPI.extract, runsOnEventLoop: false) { request, _ in
            ExtractResponse(extraction: extractor.extract(text: request.text, province: request.province, publishedAt: request.publishedAt))
        }
    }
}
