/// HistoAE's release, as `histoae --version` prints it and the Open Inference Protocol's server metadata
/// (`GET /v2`, gRPC `ServerMetadata`) reports it. Raised with every release that changes what clients see.
public enum ServiceVersion {
    public static let current = "0.18.0"
}
