import Foundation
import Scoring
import Testing
@testable import SlideScanning

/// Must-show 1: `tiles.geojson` is a FeatureCollection with the shape QuPath imports as detections.
@Suite("tiles.geojson has QuPath's shape", .enabled(if: ScanFixtures.available, ScanFixtures.skipReason))
struct GeoJSONShapeTests {
    static func collection(_ folder: URL) throws -> [String: Any] {
        let data = try Data(contentsOf: folder.appendingPathComponent("tiles.geojson"))
        return try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
    }

    @Test("one closed level-0 square per tile, a detection classified by its verdict, numeric measurements")
    func features() async throws {
        let (summary, folder) = try await LayoutScan.result.value
        let collection = try Self.collection(folder)
        #expect(collection["type"] as? String == "FeatureCollection")
        let features = try #require(collection["features"] as? [[String: Any]])
        #expect(features.count == summary.tilesScanned)
        let rows = try LayoutScan.table(folder).rows
        #expect(rows.count == features.count)
        let side = summary.scan.tileSide
        for (feature, row) in zip(features, rows) {
            #expect(feature["type"] as? String == "Feature")
            let geometry = try #require(feature["geometry"] as? [String: Any])
            #expect(geometry["type"] as? String == "Polygon")
            let rings = try #require(geometry["coordinates"] as? [[[Double]]])
            #expect(rings.count == 1)
            let ring = rings[0]
            #expect(ring.count == 5 && ring.first == ring.last, "a closed linear ring")
            let x = Double(row["x"]!)!, y = Double(row["y"]!)!, s = Double(side)
            #expect(ring == [[x, y], [x + s, y], [x + s, y + s], [x, y + s], [x, y]], "level-0 pixels of the table's tile")
            #expect(ring.allSatisfy { $0[0] >= 0 && $0[1] >= 0 && $0[0] <= 1800 && $0[1] <= 1200 })

            let properties = try #require(feature["properties"] as? [String: Any])
            #expect(properties["objectType"] as? String == "detection")
            let classification = try #require(properties["classification"] as? [String: Any])
            let name = try #require(classification["name"] as? String)
            let verdict = try #require(Verdict(rawValue: name))
            #expect(verdict.rawValue == row["verdict"])
            let color = try #require(classification["color"] as? [Int])
            #expect(color == TileGeoJSONWriter.color(of: verdict) && color.allSatisfy { (0...255).contains($0) })
            let measurements = try #require(properties["measurements"] as? [String: Any])
            #expect(measurements.values.allSatisfy { $0 is NSNumber }, "QuPath measurements are numbers")
            let score = try #require(measurements["score"] as? Double)
            #expect(abs(score - Double(row["score"]!)!) < 1e-12)
            for statistic in Statistic.allCases { #expect(measurements[statistic.rawValue] is NSNumber, "\(statistic)") }
            for signal in ArtefactSignal.allCases {
                let flag = try #require(measurements["flag_\(signal.rawValue)"] as? Int)
                #expect((flag == 1) == row["flags"]!.split(separator: ";").contains(Substring(signal.rawValue)))
            }
        }
    }

    @Test("the collection names the slide, the coordinate space, the model, the calibration and the threshold")
    func identity() async throws {
        let (summary, folder) = try await LayoutScan.result.value
        let properties = try #require(try Self.collection(folder)["properties"] as? [String: Any])
        #expect(properties["slide"] as? String == "layout.tiff")
        #expect((properties["coordinates"] as? String)?.hasPrefix("level-0 pixels") == true)
        let model = try #require(properties["model"] as? [String: Any])
        #expect(model["name"] as? String == summary.model.name && model["weights_sha256"] as? String == summary.model.weightsSHA256)
        let calibration = try #require(properties["calibration"] as? [String: Any])
        #expect(calibration["patches"] as? Int == summary.calibration.patches)
        let threshold = try #require(properties["threshold"] as? Double), fpr = try #require(properties["fpr"] as? Double)
        #expect(abs(threshold - summary.threshold) < 1e-15 && abs(fpr - summary.fpr) < 1e-15)
    }
}
