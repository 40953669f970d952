// Mirrors the JVM suite's core checks; runs only where a Swift toolchain and
// the Apple static library exist (not on this project's machines).
import XCTest
@testable import DoorstepCore

final class DoorstepCoreTests: XCTestCase {
    func testSixTradesShip() {
        XCTAssertEqual(shippedPlaybooks().count, 6)
    }

    func testMalformedCommandIsInvalidInput() throws {
        let s = try VisitSession(tradeId: "appliance_repair", deviceId: "dev-1", technicianName: "Wang Wei")
        XCTAssertThrowsError(try s.apply(commandJson: "{", now: Date(), location: nil)) { e in
            XCTAssertEqual((e as? DoorstepError)?.code, "invalid_command")
        }
    }

    func testSignatureCaptureNormalises() {
        let c = SignatureCapture(width: 200, height: 100)
        let t0 = Date(timeIntervalSince1970: 0)
        c.down(x: 0, y: 0, at: t0)
        c.move(x: 100, y: 50, at: t0.addingTimeInterval(0.1))
        XCTAssertTrue(c.isPlausible)
        XCTAssertEqual(c.signatureStrokes[0].points[1].x, 500)
        XCTAssertEqual(c.signatureStrokes[0].points[1].tMs, 100)
    }
}
