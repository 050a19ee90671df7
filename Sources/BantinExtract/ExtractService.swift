import BantinCore
import BantinRPC
import Metrics

/// bantin-extract's RPC service: `Extract` runs the extractor on one article's text, `ExtractBatch` on several.
public struct ExtractService: RPCService {
    public static let defaultPort = 7402
    let extractor: Extractor
    private let articles = Counter(label: "bantin_extract_articles_total")

    public init(extractor: Extractor = Extractor()) { self.extractor = extractor }

    public func register(on router: inout Router) {
        // CPU-bound: both run on the cooperative pool, not on the connection's event loop.
        router.unary(ExtractAPI.extract, runsOnEventLoop: false) { request, _ in
            ExtractResponse(extraction: extract(request))
        }
        // One article after the other: a caller wanting both cores busy keeps two batches in flight.
        router.unary(ExtractAPI.extractBatch, runsOnEventLoop: false) { request, _ in
            ExtractBatchResponse(extractions: request.articles.map(extract))
        }
    }

    private func extract(_ request: ExtractRequest) -> Extraction {
        defer { articles.increment() }
        return extractor.extract(text: request.text, province: request.province, publishedAt: request.publishedAt)
    }
}
