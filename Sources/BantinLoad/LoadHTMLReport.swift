import Foundation

/// A self-contained HTML report: one file, inline CSS and SVG plots, no scripts, no fetches.
public enum LoadHTMLReport {
    public static func render(_ r: LoadResult, slo: LoadSLO, generatedAt: Date = Date()) -> String {
        let broken = slo.violations(of: r)
        let verdict: String = if slo.isEmpty { "" } else if broken.isEmpty {
            "<p class=\"ok\">SLO met</p>"
        } else {
            broken.map { "<p class=\"bad\">SLO broken: \(escape($0))</p>" }.joined()
        }
        var rows: [(String, String)] = [
            ("Target", r.target), ("Methods", r.methods.joined(separator: ", ")), ("Load", r.plan),
            ("Measured", "\(LoadReport.fmt(r.measuredSeconds, 1)) s"),
            ("Calls", "\(r.calls) (\(r.ok) OK, \(r.calls - r.ok) failed)"),
            ("Calls/s", LoadReport.fmt(r.achievedRate, 1) + (r.intendedRate.map { " of \(LoadReport.fmt($0, 1)) intended" } ?? "")),
        ]
        if r.unsentCalls > 0 { rows.append(("Not sent", "\(r.unsentCalls) due calls (client behind)")) }
        for p in reportedPercentiles { rows.append(("Latency \(p.label)", "\(LoadReport.fmt(r.latencyMillis(p.value), 3)) ms")) }
        rows.append(("Latency max", "\(LoadReport.fmt(r.maxMillis, 3)) ms"))
        rows.append(("Statuses", r.statuses.map { "\($0.code) \($0.count)" }.joined(separator: ", ")))
        rows.append(("Client CPU", "\(LoadReport.fmt(r.clientCPUShare * 100, 0)) % of \(r.clientThreads) thread(s)"
                     + (r.clientSaturated ? " (saturated: the client limited this run)" : "")))
        let table = rows.map { "<tr><th>\(escape($0.0))</th><td>\(escape($0.1))</td></tr>" }.joined(separator: "\n")
        let errors = r.errorMessages.isEmpty ? "" :
            "<h2>Errors</h2><table>" + r.errorMessages.map { "<tr><td>\($0.count)</td><td>\(escape($0.message))</td></tr>" }.joined() + "</table>"

        return """
        <!DOCTYPE html>
        <html lang="en"><head><meta charset="utf-8"><title>bantin load: \(escape(r.target))</title>
        <style>
        body { font: 14px/1.4 system-ui, sans-serif; margin: 2em auto; max-width: 980px; color: #222; }
        table { border-collapse: collapse; margin: 1em 0; } th, td { text-align: left; padding: 2px 12px 2px 0; }
        th { font-weight: 600; } .ok { color: #176117; font-weight: 600; } .bad { color: #a21212; font-weight: 600; }
        svg { display: block; margin: 1em 0 2em; } svg text { font: 11px system-ui, sans-serif; fill: #333; }
        .grid { stroke: #e3e3e3; } .axis { stroke: #555; } .series { fill: none; stroke-width: 1.8; }
        </style></head><body>
        <h1>bantin load</h1>
        <p>\(escape(ISO8601DateFormatter().string(from: generatedAt)))</p>
        \(verdict)
        <table>
        \(table)
        </table>
        \(errors)
        <h2>Latency by percentile</h2>
        \(percentilePlot(r))
        <h2>Latency over time</h2>
        \(latencyOverTime(r))
        <h2>Throughput over time</h2>
        \(throughputOverTime(r))
        </body></html>
        """
    }

    // MARK: plots

    /// Latency against percentile, the percentile axis stretched as 1/(1 − q) on a log scale so the
    /// tail gets room (as HdrHistogram's plots do).
    static func percentilePlot(_ r: LoadResult) -> String {
        guard r.latency.totalCount > 0 else { return "<p>No calls measured.</p>" }
        let maxX = max(1, log10(Double(r.latency.totalCount)))
        var qs: [Double] = []
        var k = 0.0
        while k <= maxX * 20 { qs.append(1 - pow(10, -k / 20)); k += 1 }
        func points(_ h: (Double) -> Double) -> [(Double, Double)] { qs.map { (-log10(1 - $0), h($0 * 100)) } }
        var series = [Series(name: "latency", color: "#1f5fbf", points: points(r.latencyMillis))]
        if r.intendedCalls != nil { series.append(Series(name: "service time", color: "#d9822b", points: points(r.serviceMillis))) }
        let xTicks = stride(from: 0, through: Int(maxX.rounded(.up)), by: 1).map { d -> (Double, String) in
            (Double(d), d == 0 ? "0%" : "\(100 - 100 / pow(10, Double(d)))%".replacingOccurrences(of: ".0%", with: "%"))
        }
        let top = series.flatMap { $0.points.map(\.1) }.max() ?? 1
        return plot(series: series, xRange: 0...Double(xTicks.count - 1), xTicks: xTicks, xLabel: "percentile",
                    yMax: top, yLabel: "ms")
    }

    static func latencyOverTime(_ r: LoadResult) -> String {
        guard !r.series.isEmpty else { return "<p>No calls measured.</p>" }
        let series = [
            Series(name: "p50", color: "#1f5fbf", points: r.series.map { (Double($0.second), $0.p50Millis) }),
            Series(name: "p99", color: "#d9822b", points: r.series.map { (Double($0.second), $0.p99Millis) }),
            Series(name: "max", color: "#a21212", points: r.series.map { (Double($0.second), $0.maxMillis) }),
        ]
        let top = series.flatMap { $0.points.map(\.1) }.max() ?? 1
        return plot(series: series, xRange: 0...Double(max(1, r.series.count - 1)), xTicks: timeTicks(r.series.count),
                    xLabel: "second of the measured window (by when calls were due)", yMax: top, yLabel: "ms")
    }

    static func throughputOverTime(_ r: LoadResult) -> String {
        guard !r.series.isEmpty else { return "<p>No calls measured.</p>" }
        var series = [Series(name: "completed/s", color: "#1f5fbf", points: r.series.map { (Double($0.second), Double($0.completed)) })]
        if r.intendedCalls != nil {
            series.append(Series(name: "intended/s", color: "#888888", points: r.series.map { (Double($0.second), Double($0.intended)) }))
        }
        series.append(Series(name: "errors/s", color: "#a21212", points: r.series.map { (Double($0.second), Double($0.errors)) }))
        let top = series.flatMap { $0.points.map(\.1) }.max() ?? 1
        return plot(series: series, xRange: 0...Double(max(1, r.series.count - 1)), xTicks: timeTicks(r.series.count),
                    xLabel: "second of the measured window", yMax: top, yLabel: "calls/s")
    }

    static func timeTicks(_ count: Int) -> [(Double, String)] {
        let step = niceStep(Double(max(1, count - 1)))
        return stride(from: 0.0, through: Double(max(1, count - 1)), by: step).map { ($0, "\(Int($0))") }
    }

    struct Series {
        var name: String
        var color: String
        var points: [(Double, Double)]
    }

    /// A line plot with grid, axes, tick labels and a legend.
    static func plot(series: [Series], xRange: ClosedRange<Double>, xTicks: [(Double, String)], xLabel: String,
                     yMax: Double, yLabel: String) -> String {
        let width = 900.0, height = 300.0, left = 60.0, right = 40.0, top = 20.0, bottom = 45.0
        let yStep = niceStep(max(yMax, 1e-3))
        let yTop = max(yStep, (yMax / yStep).rounded(.up) * yStep)
        let xSpan = max(xRange.upperBound - xRange.lowerBound, 1e-9)
        func x(_ v: Double) -> Double { left + (v - xRange.lowerBound) / xSpan * (width - left - right) }
        func y(_ v: Double) -> Double { top + (1 - v / yTop) * (height - top - bottom) }
        var svg = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(width))\" height=\"\(Int(height))\" viewBox=\"0 0 \(Int(width)) \(Int(height))\" role=\"img\">\n"
        for v in stride(from: 0, through: yTop + yStep / 2, by: yStep) {
            svg += "<line class=\"grid\" x1=\"\(c(left))\" x2=\"\(c(width - right))\" y1=\"\(c(y(v)))\" y2=\"\(c(y(v)))\"/>"
            svg += "<text x=\"\(c(left - 6))\" y=\"\(c(y(v) + 4))\" text-anchor=\"end\">\(LoadReport.num((v * 1000).rounded() / 1000))</text>\n"
        }
        for (v, label) in xTicks {
            svg += "<line class=\"grid\" x1=\"\(c(x(v)))\" x2=\"\(c(x(v)))\" y1=\"\(c(top))\" y2=\"\(c(height - bottom))\"/>"
            svg += "<text x=\"\(c(x(v)))\" y=\"\(c(height - bottom + 15))\" text-anchor=\"middle\">\(escape(label))</text>\n"
        }
        svg += "<line class=\"axis\" x1=\"\(c(left))\" x2=\"\(c(left))\" y1=\"\(c(top))\" y2=\"\(c(height - bottom))\"/>"
        svg += "<line class=\"axis\" x1=\"\(c(left))\" x2=\"\(c(width - right))\" y1=\"\(c(height - bottom))\" y2=\"\(c(height - bottom))\"/>\n"
        svg += "<text x=\"\(c((left + width - right) / 2))\" y=\"\(c(height - 8))\" text-anchor=\"middle\">\(escape(xLabel))</text>"
        svg += "<text x=\"14\" y=\"\(c((top + height - bottom) / 2))\" text-anchor=\"middle\" transform=\"rotate(-90 14 \(c((top + height - bottom) / 2)))\">\(escape(yLabel))</text>\n"
        for (i, s) in series.enumerated() {
            let points = s.points.map { "\(c(x($0.0))),\(c(y($0.1)))" }.joined(separator: " ")
            svg += "<polyline class=\"series\" data-series=\"\(escape(s.name))\" stroke=\"\(s.color)\" points=\"\(points)\"><title>\(escape(s.name))</title></polyline>\n"
            let lx = left + 10 + Double(i) * 130
            svg += "<line x1=\"\(c(lx))\" x2=\"\(c(lx + 18))\" y1=\"\(c(top + 8))\" y2=\"\(c(top + 8))\" stroke=\"\(s.color)\" stroke-width=\"3\"/>"
            svg += "<text x=\"\(c(lx + 24))\" y=\"\(c(top + 12))\">\(escape(s.name))</text>\n"
        }
        return svg + "</svg>"
    }

    /// 1, 2 or 5 times a power of ten, giving about five intervals over `span`.
    static func niceStep(_ span: Double) -> Double {
        let raw = span / 5
        let magnitude = pow(10, (log10(raw)).rounded(.down))
        let fraction = raw / magnitude
        return (fraction <= 1 ? 1 : fraction <= 2 ? 2 : fraction <= 5 ? 5 : 10) * magnitude
    }

    static func c(_ v: Double) -> String { String(format: "%.1f", v) }

    static func escape(_ s: String) -> String {
        s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }
}
