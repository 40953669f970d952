package app.doorstep.shell

import app.doorstep.core.CustomerSignOff
import app.doorstep.core.DoorstepException
import app.doorstep.core.LocalTimes
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

    /** Submits [action]'s form with [fields] (unset fields take the form's defaults). */
    protected fun ok(action: String, vararg fields: Pair<String, Any?>, location: app.doorstep.core.Location? = null): VisitScreen =
        when (val r = repo.submit(id, action, FormValues.of(*fields), location)) {
            is CoreResult.Ok -> r.value.screen
            is CoreResult.Failed -> throw AssertionError("$action refused: [${r.code}] ${r.en}")
        }

    /** Records the photo of [moment] by the digest of its (here notional) bytes, as the photo form takes it. */
    protected fun photo(moment: String): VisitScreen {
        val digest = java.security.MessageDigest.getInstance("SHA-256").digest("photo of $moment".toByteArray())
            .joinToString("") { "%02x".format(it) }
        return ok("take_photo", "moment" to moment, "digest" to digest, "size_bytes" to 182344, "width" to 1440, "height" to 1080)
    }

        /** The default the core's form gives [field] of [action] now. */
    protected fun formDefault(action: String, field: String): String? =
        (repo.forms(id) as CoreResult.Ok).value.single { it.action == action }.fields.single { it.name == field }.default

    protected fun screen(): VisitScreen = (repo.screen(id) as CoreResult.Ok).value

    protected fun flow(lang: Language = Language.ZH) = VisitFlowState.of(screen(), clock.now, lang)

    @Test
    fun `walks a repair from assignment to customer sign-off and leaving`() {
        val received = repo.receiveAssignment(assignmentJson(id))
        assertTrue(received is CoreResult.Ok)
        val list = TodayListState.of(repo.today(), Language.ZH, LocalTimes.inDefaultZone())
        assertEquals(1, list.openCount)
        assertEquals("18:00–20:00", list.rows.single().window)
        assertEquals("待确认", list.rows.single().status)

        // Confirm the appointment.
        clock.at("08:10")
        ok("log_call", "outcome" to "reached")
        ok("confirm_appointment", "address_confirmed" to true, "product_confirmed" to true)
        assertEquals(VisitStage.SCHEDULED, screen().stage)

        // Kit self-check: every item from the screen's checklist.
        clock.at("09:00")
        val kit = flow().kit
        assertTrue(kit.isNotEmpty() && kit.none { it.done })
        kit.forEach { ok("check_kit_item", "item" to it.id) }
        assertTrue(flow().kit.all { it.done })

        // Depart in time to arrive ten minutes early; arrive inside the geofence.
        clock.at("09:30")
        ok("depart", "travel_minutes" to 20)
        assertEquals(VisitStage.EN_ROUTE, screen().stage)
        clock.at("09:50")
        ok("arrive", "location" to fixNear(30.0))
        assertEquals(VisitStage.AT_DOOR, screen().stage)

        // Appearance, the bell, the knock timer, the door.
        clock.at("09:51")
        ok("check_appearance", "items" to screen().appearance.map { it.id })
        ok("knock", "method" to "bell")
        val timer = flow().knockTimer
        assertNotNull(timer)
        assertFalse(timer!!.canKnockNow, "the next knock waits for the interval")
        assertTrue(timer.knockInSeconds!! in 1..30)
        clock.at("09:52")
        ok("door_answered")
        ok("enter", "greeted" to true, "permit_shown" to true)
        assertEquals(VisitStage.ON_SITE, screen().stage)
        if (flow().offers("put_on_shoe_covers")) ok("put_on_shoe_covers")
        if (flow().offers("lay_drop_cloth")) ok("lay_drop_cloth")

        // Diagnose, show the fee schedule, quote, and the customer accepts.
        clock.at("10:05")
        ok("record_diagnosis", "fault_reproduced" to true, "cause" to "other", "cause_other" to "Start relay burnt out", "parts" to listOf("part_compressor_relay"))
        photo("nameplate")
        photo("fault_before")
        clock.at("10:10")
        ok("show_fee_schedule")
        ok("present_quote", "quote.lines" to listOf(mapOf("item" to "visit_fee", "qty" to 1), mapOf("item" to "labour_basic", "qty" to 1), mapOf("item" to "part_compressor_relay", "qty" to 1)))
        val quote = flow(Language.EN).quote!!
        assertFalse(quote.accepted)
        assertEquals(3, quote.rows.size)
        assertTrue(quote.customerTotal.startsWith("¥"))
        assertTrue(quote.customerTotalMinor > 0)
        ok("accept_quote", "revision" to quote.revision)
        assertTrue(flow().quote!!.accepted)

        // Repair, test, brief, clean up, take payment.
        clock.at("10:30")
        ok("record_work", "description" to "Replaced compressor start relay", "parts_used" to listOf(mapOf("item" to "part_compressor_relay", "old_serial" to "R-OLD-1", "new_serial" to "R-NEW-9")))
        photo("after_repair")
        clock.at("10:40")
        ok("record_test_run", "passed" to true)
        clock.at("10:45")
        ok("brief_customer")
        ok("clean_up", "product_restored" to true, "wiped" to true, "floor_cleaned" to true, "no_tool_left" to true)
        clock.at("10:50")
        ok("collect_payment", "amount" to formDefault("collect_payment", "amount"), "method" to "cash", "receipt.number" to "R-2026-0042")

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
        ok("leave", "service_card_given" to true, "shoe_covers_off_at_door" to true)
        val closed = screen()
        assertEquals(VisitStage.CLOSED, closed.stage)
        assertEquals(VisitOutcome.FIXED, closed.outcome)
        assertEquals("已修复", flow().closedAs)
        assertTrue(closed.timers.callbacks.any { it.reason == "second_level" })
        assertEquals(0, TodayListState.of(repo.today(), Language.EN, LocalTimes.inDefaultZone()).openCount)
    }

    @Test
    fun `a refused step surfaces the rule code and the Chinese message`() {
        repo.receiveAssignment(assignmentJson(id))
        clock.at("08:10")
        ok("log_call", "outcome" to "reached")
        ok("confirm_appointment", "address_confirmed" to true, "product_confirmed" to true)
        clock.at("09:30")
        val refused = repo.submit(id, "depart", FormValues.of("travel_minutes" to 20))
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
        ok("log_call", "outcome" to "reached")
        ok("confirm_appointment", "address_confirmed" to true, "product_confirmed" to true)
        clock.at("09:00")
        flow().kit.forEach { ok("check_kit_item", "item" to it.id) }
        clock.at("09:30"); ok("depart", "travel_minutes" to 20)
        clock.at("09:50"); ok("arrive", "location" to fixNear(30.0))
        clock.at("09:51")
        ok("check_appearance", "items" to screen().appearance.map { it.id })
        ok("knock", "method" to "bell")
        clock.at("09:52"); ok("door_answered"); ok("enter", "greeted" to true, "permit_shown" to true)
        if (flow().offers("put_on_shoe_covers")) ok("put_on_shoe_covers")
        if (flow().offers("lay_drop_cloth")) ok("lay_drop_cloth")
        clock.at("10:05"); ok("record_diagnosis", "fault_reproduced" to true, "cause" to "door_seal", "parts" to listOf("part_door_seal"))
        photo("nameplate"); photo("fault_before")
        clock.at("10:10"); ok("show_fee_schedule")
        ok("present_quote", "quote.lines" to listOf(mapOf("item" to "visit_fee", "qty" to 1)))
        ok("refuse_quote", "reason" to "Too expensive")
        val declined = repo.declineSignature(id, "Customer in a hurry")
        assertTrue(declined is CoreResult.Ok, "decline refused: $declined")
        assertNull(screen().outcome)
        assertFalse(screen().signed)
        ok("leave", "service_card_given" to true, "shoe_covers_off_at_door" to true)
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
        ok("log_call", "outcome" to "reached")
        ok("confirm_appointment", "address_confirmed" to true, "product_confirmed" to true)
        val pending = repo.pendingUploads()
        assertTrue(pending >= 3, "events wait for upload: $pending")
        store.closeStore()
        val closed = repo.screen(id)
        assertTrue(closed is CoreResult.Failed && closed.code == "store_closed", "$closed")

        StoreVisitRepository(app.doorstep.core.DeviceStore.open(path, "dev-1", "T-7", "Wang Wei"), clock).use { again ->
            assertEquals(pending, again.pendingUploads())
            assertEquals(VisitStage.SCHEDULED, (again.screen(id) as CoreResult.Ok).value.stage)
            val list = TodayListState.of(again.today(), Language.EN, LocalTimes.inDefaultZone())
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
