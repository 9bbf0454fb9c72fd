@testable import InferenceService
import Testing

/// The API key check both transports make (HTTP's middleware, gRPC's interceptor).
struct APIKeysTests {
    @Test func bearerSchemeIsCaseInsensitive() {
        #expect(APIKeys.bearerToken("Bearer abc") == Array("abc".utf8))
        #expect(APIKeys.bearerToken("bearer abc") == Array("abc".utf8))
        #expect(APIKeys.bearerToken("BEARER  abc ") == Array("abc".utf8))
        #expect(APIKeys.bearerToken("Basic abc").isEmpty)
        #expect(APIKeys.bearerToken("Bearerabc").isEmpty)
        #expect(APIKeys.bearerToken("Bearer").isEmpty)
    }

    @Test func apiKeysCompareWholeKeysOnly() {
        let keys = [Array("secret-1".utf8), Array("other".utf8)]
        #expect(APIKeys.matches(Array("secret-1".utf8), keys))
        #expect(APIKeys.matches(Array("other".utf8), keys))
        #expect(!APIKeys.matches(Array("secret-".utf8), keys))
        #expect(!APIKeys.matches(Array("secret-12".utf8), keys))
        #expect(!APIKeys.constantTimeEqual([], Array("x".utf8)))
    }

    @Test func admitsOnlyAConfiguredKeyOrAnyoneWithoutKeys() {
        let keys = APIKeys(["s3cret"])
        #expect(keys.admits(authorization: "Bearer s3cret"))
        #expect(!keys.admits(authorization: "Bearer s3cre"))
        #expect(!keys.admits(authorization: "Basic s3cret"))
        #expect(!keys.admits(authorization: nil))
        #expect(APIKeys([]).admits(authorization: nil))
    }
}
