import Hummingbird

/// The browser viewer: `GET /` (the page) and `GET /viewer/{asset}` (its scripts, style and icon), all
/// embedded in the binary (`viewer/` → `scripts/embed-viewer.sh` → ``ViewerEmbeddedFiles``), so a hospital
/// network with no internet needs nothing else.
///
/// **No API key for the page and its files.** They hold no data — every result the page shows comes from the
/// API, whose calls send the key the user typed (`Authorization: Bearer`) — and a browser cannot send a bearer
/// key when it navigates to an address, so a keyed page could never open. Hummingbird applies a router's
/// middleware to the routes added after it, so ``HistoAEServer`` registers these routes after its problem
/// middleware (errors, metrics, request ledger: the same as every route) and before its key check:
///
/// ```swift
/// router.add(middleware: ProblemMiddleware(…))
/// ViewerRoutes.register(on: router)                 // here: no key needed
/// router.add(middleware: APIKeyMiddleware(…))       // every route added from here on needs the key
/// ```
///
/// The connection limits (header size and count, timeouts, connections, body bytes) apply below the router,
/// to these routes as to all.
enum ViewerRoutes {
    /// The paths and methods, as `openapi.yaml` lists them.
    static let routes: [String: [HTTPRequest.Method]] = ["/": [.get], "/viewer/{asset}": [.get]]

    static func register<Context: RequestContext>(on router: Router<Context>) {
        router.get("/") { request, _ in
            try ViewerResponses.file(named: ViewerAssets.pageName, ifNoneMatch: request.headers[.ifNoneMatch])
        }
        router.get("/viewer/:asset") { request, context in
            try ViewerResponses.file(named: context.parameters.get("asset") ?? "", ifNoneMatch: request.headers[.ifNoneMatch])
        }
    }
}
