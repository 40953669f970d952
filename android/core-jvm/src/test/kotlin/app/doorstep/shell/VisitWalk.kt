package app.doorstep.shell

import app.doorstep.core.CustomerSignOff
import app.doorstep.core.DoorstepException
import app.doorstep.core.VisitOutcome
import app.doorstep.core.VisitScreen
import app.doorstep.core.VisitStage
import org.junit.jupiter.api.AfterEach
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertFalse
import org.junit.jupiter.api.Assertions.assertNotNull
import org.junit.jupiter.api.Assertions.assertNull
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.assertThrows
import java.time.ZoneId

/**
 * A complete appliance-repair visit through the shell's repository and
 * screen models, against the real native library loaded through JNA; run
 * once over the durable store and once over in-memory sessions.
 */
abstract class VisitWalk {
    protected val clock = TestClock(today("08:00"))
    protected abstract val repo: VisitRepository
    protected val id = "A-1001"

    @AfterEach
    fun close() = (repo as AutoCloseable).close()

    protected fun ok(command: String, location: app.doorstep.core.Location? = null): VisitScreen =
        when (val r = repo.apply(id, command, location)) {
            is CoreResult.Ok -> r.value.screen
            is CoreResult.Failed -> throw AssertionError("$command refused: [${r.code}] ${r.en}")
        }

    protected fun screen(): VisitScreen = (repo.screen(id) as CoreResult.Ok).value

    protected fun flow(lang: Language = Language.ZH) = VisitFlowState.of(screen(), clock.now, lang)

    @Test
    fun `walks a repair from assignment to customer sign-off and leaving`() {
        val received = repo.receiveAssignment(assignmentJson(id))
        assertTrue(received is CoreResult.Ok)
        val list = TodayListState.of(repo.today(), Language.ZH, ZoneId.of("Asia/Shanghai"))
        assertEquals(1, list.openCount)
        assertEquals("18:00–20:00", list.rows.single().window)
        assertEquals("待确认", list.rows.single().status)

        // Confirm the appointment.
        clock.at("08:10")
        ok(Commands.logCall("reached"))
        ok(Commands.confirmAppointment())
        assertEquals(VisitStage.SCHEDULED, screen().stage)

        // Kit self-check: every item from the screen's checklist.
        clock.at("09:00")
        val kit = flow().kit
        assertTrue(kit.isNotEmpty() && kit.none { it.done })
        kit.forEach { ok(Commands.checkKitItem(it.id)) }
        assertTrue(flow().kit.all { it.done })

        // Depart in time to arrive ten minutes early; arrive inside the geofence.
        clock.at("09:30")
        ok(Commands.depart(20))
        assertEquals(VisitStage.EN_ROUTE, screen().stage)
        clock.at("09:50")
        ok(Commands.arrive(fixNear(30.0)))
        assertEquals(VisitStage.AT_DOOR, screen().stage)

        // Appearance, the bell, the knock timer, the door.
        clock.at("09:51")
        ok(Commands.checkAppearance(screen().appearance.map { it.id }))
        ok(Commands.knock("bell"))
        val timer = flow().knockTimer
        assertNotNull(timer)
        assertFalse(timer!!.canKnockNow, "the next knock waits for the interval")
        assertTrue(timer.knockInSeconds!! in 1..30)
        clock.at("09:52")
        ok(Commands.doorAnswered())
        ok(Commands.enter())
        assertEquals(VisitStage.ON_SITE, screen().stage)
        if (flow().offers("put_on_shoe_covers")) ok(Commands.putOnShoeCovers())
        if (flow().offers("lay_drop_cloth")) ok(Commands.layDropCloth())

        // Diagnose, show the fee schedule, quote, and the customer accepts.
        clock.at("10:05")
        ok(Commands.recordDiagnosis("Start relay burnt out", listOf("part_compressor_relay")))
        clock.at("10:10")
        ok(Commands.showFeeSchedule())
        ok(Commands.presentQuote(listOf("visit_fee" to 1, "labour_basic" to 1, "part_compressor_relay" to 1)))
        val quote = flow(Language.EN).quote!!
        assertFalse(quote.accepted)
        assertEquals(3, quote.rows.size)
        assertTrue(quote.customerTotal.startsWith("¥"))
        assertTrue(quote.customerTotalMinor > 0)
        ok(Commands.acceptQuote(quote.revision))
        assertTrue(flow().quote!!.accepted)

        // Repair, test, brief, clean up, take payment.
        clock.at("10:30")
        ok(Commands.recordWork("Replaced compressor start relay", listOf(mapOf("item" to "part_compressor_relay", "old_serial" to "R-OLD-1", "new_serial" to "R-NEW-9"))))
        clock.at("10:40")
        ok(Commands.recordTestRun(passed = true))
        clock.at("10:45")
        ok(Commands.briefCustomer())
        ok(Commands.cleanUp())
        clock.at("10:50")
        ok(Commands.collectPayment(quote.customerTotalMinor, "cash", "R-2026-0042"))

        // The customer signs on the pad; the digest on screen is what gets signed.
        clock.at("10:55")
        val before = screen()
        val standing = before.reportDigest!!
        assertEquals(8, standing.short.length)
        assertEquals(standing.full.substring(0, 8), standing.short)
        val pad = SignatureCapture(400f, 200f)
        pad.down(10f, 100f, 1_000)
        pad.move(60f, 80f, 1_120)
        pad.move(120f, 120f, 1_260)
        pad.up()
        val consent = SignaturePadState.consentText(Language.ZH)
        val draft = CustomerSignOff(5u, 5u, null, pad.strokes(), consent, null)
        val preview = (repo.previewSignOff(id, draft) as CoreResult.Ok).value
        val signOff = draft.copy(shownDigest = preview.full)
        val padState = SignaturePadState.of(before, pad, Language.ZH, preview)
        assertTrue(padState.canSubmit)
        assertEquals(preview.short, padState.reportDigestShort)
        // A screen that showed another report is refused; the one shown signs.
        val stale = repo.signOff(id, signOff.copy(shownDigest = "0".repeat(64)))
        assertTrue(stale is CoreResult.Failed && stale.code == "signature_invalid", "$stale")
        clock.at("10:56")
        val signed = repo.signOff(id, signOff)
        assertTrue(signed is CoreResult.Ok, "sign-off refused: $signed")
        val after = screen()
        assertTrue(after.signed)
        assertEquals(preview.full, after.reportDigest!!.full, "the signed report is the one shown on the pad")

        // Leave.
        clock.at("11:00")
        ok(Commands.leave())
        val closed = screen()
        assertEquals(VisitStage.CLOSED, closed.stage)
        assertEquals(VisitOutcome.FIXED, closed.outcome)
        assertEquals("已修复", flow().closedAs)
        assertTrue(closed.timers.callbacks.any { it.reason == "second_level" })
        assertEquals(0, TodayListState.of(repo.today(), Language.EN, ZoneId.of("UTC")).openCount)
    }

    @Test
    fun `a refused step surfaces the rule code and the Chinese message`() {
        repo.receiveAssignment(assignmentJson(id))
        clock.at("08:10")
        ok(Commands.logCall("reached"))
        ok(Commands.confirmAppointment())
        clock.at("09:30")
        val refused = repo.apply(id, Commands.depart(20))
        assertTrue(refused is CoreResult.Failed)
        refused as CoreResult.Failed
        assertEquals("kit_incomplete", refused.code)
        assertTrue(refused.rule)
        assertTrue(refused.zh.startsWith("还不能出发"), refused.zh)
        assertTrue(refused.text(Language.EN).startsWith("You cannot depart yet"), refused.en)
        assertEquals(VisitStage.SCHEDULED, screen().stage, "a refusal changes nothing")
    }

    @Test
    fun `a declined signature is recorded, and the visit can then be left`() {
        repo.receiveAssignment(assignmentJson(id))
        clock.at("08:10")
        ok(Commands.logCall("reached"))
        ok(Commands.confirmAppointment())
        clock.at("09:00")
        flow().kit.forEach { ok(Commands.checkKitItem(it.id)) }
        clock.at("09:30"); ok(Commands.depart(20))
        clock.at("09:50"); ok(Commands.arrive(fixNear(30.0)))
        clock.at("09:51")
        ok(Commands.checkAppearance(screen().appearance.map { it.id }))
        ok(Commands.knock("bell"))
        clock.at("09:52"); ok(Commands.doorAnswered()); ok(Commands.enter())
        if (flow().offers("put_on_shoe_covers")) ok(Commands.putOnShoeCovers())
        if (flow().offers("lay_drop_cloth")) ok(Commands.layDropCloth())
        clock.at("10:05"); ok(Commands.recordDiagnosis("Door seal worn", listOf("part_door_seal")))
        clock.at("10:10"); ok(Commands.showFeeSchedule())
        ok(Commands.presentQuote(listOf("visit_fee" to 1)))
        ok(Commands.refuseQuote("Too expensive"))
        val declined = repo.declineSignature(id, "Customer in a hurry")
        assertTrue(declined is CoreResult.Ok, "decline refused: $declined")
        assertNull(screen().outcome)
        assertFalse(screen().signed)
        ok(Commands.leave())
        assertEquals(VisitOutcome.QUOTE_REFUSED, screen().outcome)
    }
}

/** The walk over in-memory `VisitSession`s. */
class InMemoryVisitWalkTest : VisitWalk() {
    override val repo = InMemoryVisitRepository("appliance_repair", "dev-1", "Wang Wei", clock)
}

/** The walk over the durable `DeviceStore`, plus what only a store can show. */
class StoreVisitWalkTest : VisitWalk() {
    private val dir: java.nio.file.Path = java.nio.file.Files.createTempDirectory("doorstep-store")
    private val path = dir.resolve("device.db").toString()
    private val store = app.doorstep.core.DeviceStore.open(path, "dev-1", "T-7", "Wang Wei")
    override val repo = StoreVisitRepository(store, clock)

    @AfterEach
    fun removeDir() = dir.toFile().deleteRecursively().let { }

    @Test
    fun `accepted work survives closing and reopening the store`() {
        repo.receiveAssignment(assignmentJson(id))
        clock.at("08:10")
        ok(Commands.logCall("reached"))
        ok(Commands.confirmAppointment())
        val pending = repo.pendingUploads()
        assertTrue(pending >= 3, "events wait for upload: $pending")
        store.closeStore()
        val closed = repo.screen(id)
        assertTrue(closed is CoreResult.Failed && closed.code == "store_closed", "$closed")

        StoreVisitRepository(app.doorstep.core.DeviceStore.open(path, "dev-1", "T-7", "Wang Wei"), clock).use { again ->
            assertEquals(pending, again.pendingUploads())
            assertEquals(VisitStage.SCHEDULED, (again.screen(id) as CoreResult.Ok).value.stage)
            val list = TodayListState.of(again.today(), Language.EN, ZoneId.of("Asia/Shanghai"))
            assertEquals("Scheduled", list.rows.single().status)
            assertTrue(list.rows.single().title.isNotBlank())
        }
    }

    @Test
    fun `a store of another device is refused with a Chinese explanation`() {
        store.closeStore()
        val e = assertThrows<DoorstepException.Store> { app.doorstep.core.DeviceStore.open(path, "dev-2", "T-7", "Wang Wei") }
        assertEquals("store_device_mismatch", e.code)
        assertTrue(e.zh.contains("另一台"), e.zh)
    }
}
