import RequestParsing
import Testing

struct MediaTypeTests {
    @Test func parametersAreUnquotedAndNamesLowercased() {
        let header = MediaType(parsing: #"form-data; name="patch"; filename="a;b \"c\".png""#)
        #expect(header.type == "form-data")
        #expect(header.parameters["name"] == "patch")
        #expect(header.parameters["filename"] == #"a;b "c".png"#)
        #expect(MediaType(parsing: "Multipart/Form-Data; BOUNDARY=xyz").parameters["boundary"] == "xyz")
        #expect(MediaType(parsing: " image/png ").type == "image/png")
    }

    @Test func malformedValuesYieldWhatCouldBeRead() {
        #expect(MediaType(parsing: "").type == "")
        #expect(MediaType(parsing: ";;;=;").parameters.isEmpty)
        #expect(MediaType(parsing: #"a/b; x="unterminated"#).parameters["x"] == "unterminated")
        #expect(MediaType(parsing: #"a/b; x="ends in backslash\"#).parameters["x"] == "ends in backslash\\")
        #expect(MediaType(parsing: "a/b; bare; y=1").parameters == ["y": "1"])
        #expect(MediaType(parsing: "a/b; y=1; Y=2").parameters["y"] == "1")  // the first value wins
        #expect(MediaType(parsing: "a/b; \u{FF}=\u{0}").type == "a/b")
    }
}

struct AcceptHeaderTests {
    @Test func mostSpecificRangeGivesTheQuality() {
        let accept = AcceptHeader(parsing: "image/*;q=0.5, image/png;q=0, */*;q=0.1, application/json")
        #expect(accept.quality(of: "image/png") == 0)
        #expect(accept.quality(of: "image/jpeg") == 0.5)
        #expect(accept.quality(of: "application/json") == 1)
        #expect(accept.quality(of: "text/html") == 0.1)
        #expect(AcceptHeader(parsing: "text/html").quality(of: "image/png") == 0)
    }

    /// Found by the accept fuzz target: split on the bytes ',' and '/', not on Characters (a comma or slash
    /// followed by a combining mark is one grapheme cluster) — Fuzz/regressions/accept/.
    @Test func structureIsReadInBytesNotGraphemes() {
        let accept = AcceptHeader(parsing: "image/png;q=0.5,\u{036A}age/png")
        #expect(accept.ranges.count == 2)
        #expect(accept.quality(of: "image/png") == 0.5)
        let combining = AcceptHeader(parsing: "at/\u{030F}on")
        #expect(combining.ranges.count == 1)
        #expect(combining.quality(of: "at/\u{030F}on") == 1)
        // Byte equality, not Unicode equivalence: é precomposed is not e + combining acute.
        #expect(AcceptHeader(parsing: "a/\u{E9}").quality(of: "a/e\u{301}") == 0)
        #expect(MediaType(parsing: "\u{130}MAGE/PNG").type == "\u{130}mage/png")  // ASCII lowercasing only
    }

    @Test func malformedRangesAreIgnored() {
        let accept = AcceptHeader(parsing: "*/json, image/png;q=2, image/png;q=nan, image, /, , application/json;q=0.25")
        #expect(accept.ranges == [AcceptHeader.MediaRange(type: "application", subtype: "json", quality: 0.25)])
        #expect(AcceptHeader(parsing: "").ranges.isEmpty)
        #expect(AcceptHeader(parsing: "image/png;q=0.123456").ranges.isEmpty)
    }
}
