import AutoencoderModel
import Foundation

/// The µm per pixel a model was trained at: the model card's `input.mpp` (`model.json`, written by the
/// training package's export). Slides are scanned at the pyramid level closest to it.
///
/// ```swift
/// let mpp = try ModelScale.micronsPerPixel(of: card)     // 0.499 for models/default
/// ```
public enum ModelScale {
    /// - Throws: ``SlideScanError/modelScale(_:)`` when the card has no `input.mpp`, or not a positive number.
    public static func micronsPerPixel(of card: ModelCard) throws(SlideScanError) -> Double {
        try micronsPerPixel(cardJSON: card.json, name: card.name)
    }

    /// The same on a card's bytes.
    public static func micronsPerPixel(cardJSON: Data, name: String) throws(SlideScanError) -> Double {
        struct Card: Decodable {
            struct Input: Decodable { var mpp: Double? }
            var input: Input?
        }
        guard let mpp = (try? JSONDecoder().decode(Card.self, from: cardJSON))?.input?.mpp else {
            throw .modelScale("the model card of \(name) gives no µm per pixel (input.mpp in model.json): "
                              + "a slide cannot be scanned at the model's scale without it")
        }
        guard mpp.isFinite, mpp > 0, mpp <= 1000 else {
            throw .modelScale("the model card of \(name) gives input.mpp \(mpp): expected a positive µm per pixel")
        }
        return mpp
    }
}
