import AutoencoderModel
import Foundation
import HTTPTypes
import Hummingbird
import ImageCodecs
import InferenceService
import NIOCore
import NIOPosix
import ScanJobs
import Scoring
import SlideReading
import SlideScanning

/// The slide of a scan job, for the viewer: `GET /v1/scans/{id}/slide.dzi` (its Deep Zoom descriptor),
/// `GET /v1/scans/{id}/slide_files/{level}/{column}_{row}.png` (one Deep Zoom tile, ``DeepZoomTiles``) and
/// `GET /v1/scans/{id}/tiles/{index}/panel.png` (scanned tile `index` read again exactly as the scan read it,
/// reconstructed by the engine, drawn as `/v1/reconstruct?image=panel` draws a patch).
///
/// The slide is always the job's own, resolved again under the slide root (``SlideRoot``): no client-given
/// path reaches OpenSlide. Opening, reading and encoding run on the codec threads, never on an event loop; the
/// last few slides stay open between requests (``OpenSlides``).
///
/// ```swift
/// SlideEndpoints(runner: runner, engine: engine, scorer: scorer, cardJSON: card, codecPool: pool).register(on: router)
/// ```
struct SlideEndpoints: Sendable {
    /// nil: scan jobs are off (every route answers 404 saying so, as the other scan routes do).
    let runner: ScanJobRunner?
    let engine: InferenceEngine
    let scorer: PatchScorer
    let cardJSON: [UInt8]
    let codecPool: NIOThreadPool
    /// The slides kept open between requests (a view asks for dozens of tiles of one slide):
    /// ``ScanJobs/ScanJobsConfiguration/openSlides`` of them.
    let slides: OpenSlides

    static let tileFormat = "png"
    static let dziPath = "/v1/scans/{id}/slide.dzi"
    static let tilePath = "/v1/scans/{id}/slide_files/{level}/{tile}"
    static let panelPath = "/v1/scans/{id}/tiles/{index}/panel.png"

    /// The paths and methods, as `openapi.yaml` lists them.
    static let routes: [String: [HTTPRequest.Method]] = [dziPath: [.get], tilePath: [.get], panelPath: [.get]]

    func register(on router: Router<ServiceRequestContext>) {
        router.get(RouterPath(Self.dziPath)) { _, context in try await descriptor(context) }
        router.get(RouterPath(Self.tilePath)) { _, context in try await tile(context) }
        router.get(RouterPath(Self.panelPath)) { _, context in try await panel(context) }
    }

    func descriptor(_ context: ServiceRequestContext) async throws -> Response {
        let (runner, id) = try job(context)
        let slides = self.slides
        let xml = try await onCodecThread {
            let slide = try Self.open(runner, id, slides)
            return DeepZoomGeometry(width: slide.level0.width, height: slide.level0.height).descriptor(format: Self.tileFormat)
        }
        return Response(status: .ok, headers: [.contentType: "application/xml", .cacheControl: "private, max-age=3600"],
                        body: .init(byteBuffer: ByteBuffer(string: xml)))
    }

    func tile(_ context: ServiceRequestContext) async throws -> Response {
        let (runner, id) = try job(context)
        let (level, column, row) = try Self.tileAddress(level: context.parameters.get("level") ?? "",
                                                        tile: context.parameters.get("tile") ?? "")
        let slides = self.slides
        let png = try await onCodecThread {
            let slide = try Self.open(runner, id, slides)
            let pyramid = DeepZoomGeometry(width: slide.level0.width, height: slide.level0.height)
            guard let rect = pyramid.tile(level: level, column: column, row: row) else {
                throw Problem(.notFound, "the slide's Deep Zoom pyramid has no tile \(column)_\(row) at level \(level) "
                              + "(levels 0…\(pyramid.maxLevel); \(pyramid.grid(level).map { "\($0.columns)×\($0.rows) tiles there" } ?? "no such level"))")
            }
            do { return try PNGEncoder.encode(try DeepZoomTiles.render(slide, rect), compressionLevel: 3) } catch let error as SlideError {
                slides.drop(slide)
                throw Problem(Self.status(of: error), error.description)
            }
        }
        return Response(status: .ok, headers: [.contentType: "image/png", .cacheControl: "private, max-age=3600"],
                        body: .init(byteBuffer: ByteBuffer(bytes: png)))
    }

    func panel(_ context: ServiceRequestContext) async throws -> Response {
        let (runner, id) = try job(context)
        let text = context.parameters.get("index") ?? ""
        guard text.count <= 9, text.allSatisfy(\.isASCII), let index = Int(text), index >= 0 else {
            throw Problem(.notFound, "a tile index is a whole number, got \(ScanJobBody.quoted(text))")
        }
        if let refusal = engine.admissionRefusal() { throw refusal.problem }
        let (cardJSON, baseScorer, slides) = (self.cardJSON, scorer, self.slides)
        let (patch, jobScorer) = try await onCodecThread { () throws -> (RGBImage, PatchScorer) in
            let job = try runner.job(id: id)
            let table = try runner.result(id: id, name: "tiles.csv")   // 409 until the job has succeeded
            guard let corner = try SlideTileTable.corner(of: index, in: table) else {
                throw Problem(.notFound, "scan job \(id) has no tile \(index)")
            }
            let modelMPP = try ModelScale.micronsPerPixel(cardJSON: Data(cardJSON), name: "the model card")
            let slide = try Self.open(runner, id, slides)
            let patch: RGBImage
            do {
                patch = try SlidePanelTile.read(slide, x: corner.x, y: corner.y, modelMPP: modelMPP,
                                                slideMPP: job.slideMPP, patchSize: CNNAutoencoder3.inputSize)
            } catch let error as SlideError {
                slides.drop(slide)
                throw Problem(Self.status(of: error), error.description)
            }
            return (patch, try job.parameters.scorer(basedOn: baseScorer))
        }
        let outcome = try await SubmissionOptions.$current.withValue(SubmissionOptions(scorer: jobScorer)) {
            try await engine.submit([patch], detail: .full).orProblem()
        }
        let png = try await codecPool.runIfActive {
            try ResponseRenderer.picture(outcome.patches[0], input: patch, name: "tile \(index)", query: PatchQuery())
        }
        return Response(status: .ok, headers: [.contentType: "image/png", .histoAEPrecision: engine.precision.rawValue],
                        body: .init(byteBuffer: ByteBuffer(bytes: png)))
    }

    // MARK: Helpers

    /// `{level}` and `{column}_{row}.png` as numbers; 404 for anything else (as a missing file would be).
    static func tileAddress(level: String, tile: String) throws -> (level: Int, column: Int, row: Int) {
        func number(_ text: Substring) -> Int? {
            guard (1...9).contains(text.count), text.allSatisfy({ $0.isASCII && $0.isNumber }) else { return nil }
            return Int(text)
        }
        let suffix = "." + tileFormat
        if tile.hasSuffix(suffix), let level = number(Substring(level)) {
            let parts = tile.dropLast(suffix.count).split(separator: "_", omittingEmptySubsequences: false)
            if parts.count == 2, let column = number(parts[0]), let row = number(parts[1]) { return (level, column, row) }
        }
        throw Problem(.notFound, "a Deep Zoom tile is slide_files/{level}/{column}_{row}.\(tileFormat), got "
                      + "\(ScanJobBody.quoted(level))/\(ScanJobBody.quoted(tile))")
    }

    /// A refused read (a level too coarse to reduce) is the request's fault; OpenSlide failing is the server's.
    static func status(of error: SlideError) -> HTTPResponse.Status {
        if case .invalidRequest = error { return .unprocessableContent }
        return .internalServerError
    }

    private func job(_ context: ServiceRequestContext) throws -> (ScanJobRunner, String) {
        guard let runner else {
            throw Problem(.notFound, "scan jobs are not enabled on this server: it was started without a slide root (histoae serve --slide-root DIR --state-dir DIR, or HISTOAE_SLIDE_ROOT and HISTOAE_STATE_DIR)")
        }
        let text = context.parameters.get("id") ?? ""
        guard let id = ScanEndpoints.jobID(text) else { throw ScanJobError.notFound(id: text).problem }
        return (runner, id)
    }

    /// The job's slide, resolved again under the slide root (a link may have changed since the scan); kept open
    /// in `slides` while the file is unchanged.
    private static func open(_ runner: ScanJobRunner, _ id: String, _ slides: OpenSlides) throws -> Slide {
        let job = try runner.job(id: id)
        let path: String
        do { path = try runner.root.resolve(job.slide) } catch { throw ScanJobError.slide(error) }
        do { return try slides.open(path: path) } catch {
            throw Problem(.notFound, "the slide of scan job \(id) cannot be opened any more: \(error.description)")
        }
    }

    private func onCodecThread<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        do { return try await codecPool.runIfActive(body) } catch let error as ScanJobError { throw error.problem }
        catch let error as SlideScanError { throw Problem(.internalServerError, error.description) }
    }
}
