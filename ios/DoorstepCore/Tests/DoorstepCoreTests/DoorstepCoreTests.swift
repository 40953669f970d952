// Mirrors the JVM suite's core checks (and the sync loop's, with a scripted
// server); runs only where a Swift toolchain and the Apple static library
// exist (not on this project's machines).
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

/// The server, scripted, as the app's HTTP stack: each request takes the next
/// answer (`.ok` once the script is used up). Every sync in these tests is one
/// pull (nothing waits in the store).
final class ScriptedServer: HttpTransport, @unchecked Sendable {
    enum Answer { case ok, down, revoked }

    private let lock = NSLock()
    private var script: [Answer]
    private(set) var requests = 0

    init(_ script: [Answer] = []) { self.script = script }

    func send(request: HttpRequest) throws -> HttpResponse {
        let answer: Answer = lock.withLock {
            requests += 1
            return script.isEmpty ? .ok : script.removeFirst()
        }
        switch answer {
        case .down:
            throw TransportError.Network(reason: "NSURLErrorNotConnectedToInternet")
        case .revoked:
            return json(401, #"{"error": {"code": "unauthorized", "message": "device revoked"}}"#)
        case .ok:
            return json(200, #"{"protocol_version": 1, "changes": [], "next_cursor": 0, "more": false, "server_time": "2026-11-25T02:00:00Z"}"#)
        }
    }

    func cancel() {}

    private func json(_ status: UInt16, _ body: String) -> HttpResponse {
        HttpResponse(status: status, headers: [HttpHeader(name: "content-type", value: "application/json")],
                     body: Data(body.utf8))
    }
}

/// The app's SyncLoop over the real core sync service (its timing shortened):
/// the app passes signals in and shows the state; the policy is the core's.
final class SyncLoopTests: XCTestCase {
    private func service(_ server: ScriptedServer) throws -> SyncService {
        let path = NSTemporaryDirectory() + "/doorstep-sync-\(UUID().uuidString).db"
        let store = try DeviceStore.open(path: path, deviceId: "ios-9", technicianId: "T-9", technicianName: "李伟")
        return try SyncService.withTiming(store: store,
                                          settings: SyncSettings(serverUrl: "https://doorstep.example.com",
                                                                 deviceToken: "token", timeoutSeconds: 10),
                                          transport: server,
                                          timing: SyncTiming(intervalMs: 3_600_000, retryBaseMs: 50, retryCapMs: 400))
    }

    /// Starts a loop (connectivity as given, not monitored) and waits for the first state matching `until`.
    private func run(_ server: ScriptedServer, online: Bool = true,
                     until: @escaping (SyncPhase) -> Bool) throws -> (SyncLoop, SyncServiceState?) {
        let reached = expectation(description: "state reached")
        reached.assertForOverFulfill = false
        var seen: SyncServiceState?
        let loop = SyncLoop(service: try service(server)) { s in
            if seen == nil, until(s.phase) {
                seen = s
                reached.fulfill()
            }
        }
        if !online { loop.connectivityChanged(false) }
        try loop.start(monitorConnectivity: false)
        wait(for: [reached], timeout: 10)
        return (loop, seen)
    }

    func testItSyncsAtStartAndSchedulesTheNextOne() throws {
        let (loop, state) = try run(ScriptedServer()) { if case .synced = $0 { return true } else { return false } }
        guard case let .synced(_, next)? = state?.phase, let at = state?.lastSuccessAt else {
            return XCTFail("\(String(describing: state))")
        }
        XCTAssertEqual(next.timeIntervalSince(at), 3600, accuracy: 0.01)
        loop.close()
    }

    func testALostConnectionIsRetriedOnTheCoresOwnTimer() throws {
        let server = ScriptedServer([.down, .down])
        let (loop, _) = try run(server) { if case .synced = $0 { return true } else { return false } }
        XCTAssertEqual(server.requests, 3, "two retries without any local write")
        loop.close()
    }

    func testARevokedPhoneNeedsAttentionInTheTechniciansLanguage() throws {
        let (loop, state) = try run(ScriptedServer([.revoked])) {
            if case .needsAttention = $0 { return true } else { return false }
        }
        let badge = SyncBadgeState.of(state!, lang: .zh)
        XCTAssertTrue(badge.problem)
        XCTAssertTrue(badge.text.contains("重新登记"), badge.text)
        loop.close()
    }

    func testNothingIsAttemptedOffline() throws {
        let server = ScriptedServer()
        let (loop, state) = try run(server, online: false) { $0 == .offline }
        XCTAssertEqual(state?.phase, .offline)
        XCTAssertEqual(server.requests, 0)
        XCTAssertThrowsError(try loop.backgroundWake()) { e in
            XCTAssertEqual((e as? DoorstepError)?.code, "sync_offline")
        }
        loop.close()
    }

    func testABackgroundWakeRunsOneSync() throws {
        let server = ScriptedServer()
        let loop = SyncLoop(service: try service(server)) { _ in }
        XCTAssertEqual(try loop.backgroundWake().pending, 0)
        XCTAssertEqual(server.requests, 1)
    }

    func testTheBadgeReassuresWhileRecordsWait() {
        XCTAssertEqual(SyncBadgeState.of(SyncServiceState(phase: .idle, lastSuccessAt: nil, pending: 3), lang: .zh).text,
                       "尚未同步 · 3 条待上传")
        XCTAssertEqual(SyncBadgeState.of(SyncServiceState(phase: .offline, lastSuccessAt: nil, pending: 0), lang: .en).text,
                       "Offline: records are kept on the phone")
        let progress = SyncProgress(stage: .uploading, uploaded: 1, pending: 4, downloaded: 0)
        let syncing = SyncBadgeState.of(SyncServiceState(phase: .syncing(progress: progress), lastSuccessAt: nil, pending: 5),
                                        lang: .en)
        XCTAssertTrue(syncing.busy)
        XCTAssertEqual(syncing.text, "Syncing · sending, 4 left")
    }

    func testADiscountSecretIsImportedOnlyAs64HexDigits() throws {
        XCTAssertEqual(try discountSecretBytes(String(repeating: "aB", count: 32)), Data(repeating: 0xab, count: 32))
        XCTAssertThrowsError(try discountSecretBytes(String(repeating: "ab", count: 31)))
        XCTAssertThrowsError(try discountSecretBytes(String(repeating: "zz", count: 32)))
    }

    func testTheInMemoryVaultHoldsOneEnrolment() throws {
        let vault = InMemoryEnrolmentVault()
        let setup = DeviceSetup(vault: vault, storePath: NSTemporaryDirectory() + "/doorstep-test.db")
        XCTAssertFalse(setup.enrolled)
        XCTAssertNil(try setup.openStore())
        try vault.save(Enrolment(serverUrl: "http://127.0.0.1:1", deviceId: "ios-test", technicianId: "T-1",
                                 technicianName: "王强", deviceToken: "token"))
        XCTAssertTrue(setup.enrolled)
        vault.clear()
        XCTAssertNil(vault.load())
    }
}

