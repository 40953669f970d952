// Mirrors the JVM suite's core checks (and the scheduler's, with a scripted
// syncer); runs only where a Swift toolchain and the Apple static library
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

/// A scripted syncer: each sync takes the next outcome.
final class ScriptedSyncer: SyncerProtocol, @unchecked Sendable {
    private var outcomes: [() throws -> SyncSummary]
    private(set) var syncs = 0
    private(set) var cancels = 0

    init(_ outcomes: [() throws -> SyncSummary]) { self.outcomes = outcomes }

    func cancel() -> Bool {
        cancels += 1
        return false
    }

    func isSyncing() -> Bool { false }

    func syncNow(listener: SyncListener?) throws -> SyncSummary {
        syncs += 1
        listener?.onProgress(progress: SyncProgress(stage: .uploading, uploaded: 0, pending: 2, downloaded: 0))
        if outcomes.isEmpty { return summary() }
        return try outcomes.removeFirst()()
    }
}

func summary(pushed: UInt64 = 2) -> SyncSummary {
    SyncSummary(pushed: pushed, duplicates: 0, refused: 0, changes: 1, pending: 0, clockOffsetMs: 0,
                bytesSent: 100, bytesReceived: 200)
}

func syncError(_ code: String, transient: Bool) -> DoorstepError {
    .Sync(code: code, transient: transient, detail: "test", en: "Sync failed (\(code)).", zh: "同步失败(\(code))。")
}

final class SyncSchedulerTests: XCTestCase {
    /// A scheduler whose retries are far away (the test ends first), and the first state matching `until`.
    private func run(_ syncer: ScriptedSyncer, online: Bool = true,
                     until: @escaping (SyncState) -> Bool) -> (SyncScheduler, SyncState?) {
        let reached = expectation(description: "state reached")
        reached.assertForOverFulfill = false
        var seen: SyncState?
        let scheduler = SyncScheduler(syncer: syncer, interval: 600,
                                      backoff: SyncBackoff(base: 60, cap: 600, random: { $0.upperBound })) { s in
            if seen == nil, until(s) {
                seen = s
                reached.fulfill()
            }
        }
        if !online { scheduler.connectivityChanged(false) }
        scheduler.start(monitorConnectivity: false)
        wait(for: [reached], timeout: 5)
        return (scheduler, seen)
    }

    func testBackoffIsFullJitterUnderADoublingCeilingAndTheCap() {
        var b = SyncBackoff(base: 5, cap: 60, random: { $0.upperBound })
        XCTAssertEqual((0 ..< 6).map { _ in b.next() }, [5, 10, 20, 40, 60, 60])
        b.reset()
        XCTAssertEqual(b.attempt, 0)
        var low = SyncBackoff(random: { $0.lowerBound })
        XCTAssertEqual(low.next(), 0)
    }

    func testASuccessfulSyncIsReportedAndTheNextOneScheduled() {
        let syncer = ScriptedSyncer([])
        let (scheduler, state) = run(syncer) { if case .synced = $0 { return true } else { return false } }
        guard case let .synced(s, at, next)? = state else { return XCTFail("\(String(describing: state))") }
        XCTAssertEqual(s.pushed, 2)
        XCTAssertEqual(next.timeIntervalSince(at), 600, accuracy: 0.001)
        scheduler.close()
        XCTAssertEqual(scheduler.state, .stopped)
    }

    func testATransientFailureRetriesWithBackoff() {
        let syncer = ScriptedSyncer([{ throw syncError("sync_network", transient: true) }])
        let (scheduler, state) = run(syncer) { if case .retrying = $0 { return true } else { return false } }
        guard case let .retrying(failure, attempt, retryAt)? = state else { return XCTFail("\(String(describing: state))") }
        XCTAssertEqual(failure.code, "sync_network")
        XCTAssertEqual(attempt, 1)
        XCTAssertGreaterThan(retryAt.timeIntervalSinceNow, 50)
        XCTAssertFalse(SyncBadgeState.of(state!, pending: 2, lang: .zh).problem)
        scheduler.close()
    }

    func testARevokedPhoneNeedsAttentionInTheTechniciansLanguage() {
        let syncer = ScriptedSyncer([{ throw syncError("sync_unauthorized", transient: false) }])
        let (scheduler, state) = run(syncer) { if case .needsAttention = $0 { return true } else { return false } }
        let badge = SyncBadgeState.of(state!, pending: 0, lang: .zh)
        XCTAssertTrue(badge.problem)
        XCTAssertEqual(badge.text, "同步失败(sync_unauthorized)。")
        scheduler.close()
    }

    func testNothingIsAttemptedOffline() {
        let syncer = ScriptedSyncer([])
        let (scheduler, state) = run(syncer, online: false) { $0 == .offline }
        XCTAssertEqual(state, .offline)
        XCTAssertEqual(syncer.syncs, 0)
        scheduler.close()
    }

    func testTheBadgeReassuresWhileRecordsWait() {
        XCTAssertEqual(SyncBadgeState.of(.idle, pending: 3, lang: .zh).text, "尚未同步 · 3 条待上传")
        XCTAssertEqual(SyncBadgeState.of(.offline, pending: 0, lang: .en).text, "Offline: records are kept on the phone")
        let syncing = SyncBadgeState.of(.syncing(SyncProgress(stage: .uploading, uploaded: 1, pending: 4, downloaded: 0)),
                                        pending: 5, lang: .en)
        XCTAssertTrue(syncing.busy)
        XCTAssertEqual(syncing.text, "Syncing · sending, 4 left")
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

