package app.doorstep.shell

import app.doorstep.core.Location
import java.time.Clock
import java.time.Instant
import java.time.ZoneId
import java.time.ZoneOffset

/** A clock the test moves by hand: every command is stamped with the time the test says. */
class TestClock(var now: Instant) : Clock() {
    override fun instant(): Instant = now
    override fun getZone(): ZoneId = ZoneOffset.UTC
    override fun withZone(zone: ZoneId?): Clock = this

    /** Sets the time to 2026-11-25 at "HH:MM" UTC. */
    fun at(hm: String) {
        now = today(hm)
    }
}

fun today(hm: String): Instant = Instant.parse("2026-11-25T$hm:00Z")

const val HOME_LAT = 31.2304
const val HOME_LON = 121.4737

/** A fix [metresNorth] of the customer's home. */
fun fixNear(metresNorth: Double) = Location(HOME_LAT + metresNorth / 111_320.0, HOME_LON, 10.0)

/** A complete, out-of-warranty appliance-repair assignment for 10:00-12:00. */
fun assignmentJson(id: String = "A-1001", start: String = "10:00", end: String = "12:00") = """
    {"id": "$id", "version": 1, "trade": "appliance_repair", "technician": "T-7",
     "customer": {"name": "Li Hua", "phone": "138-0013-8000",
        "address": "Room 1201, 88 Century Avenue, Pudong, Shanghai",
        "location": {"lat": $HOME_LAT, "lon": $HOME_LON}, "time_zone": "Asia/Shanghai"},
     "product": {"model": "BCD-470", "purchase_date": "2023-05-01", "warranty": "out_of_warranty"},
     "fault_description": "Not cooling",
     "requested_window": {"start": "2026-11-25T$start:00Z", "end": "2026-11-25T$end:00Z"},
     "received_at": "2026-11-25T07:30:00Z"}
""".trimIndent()

/** A photo fact as the command table takes it (the phone keeps only its digest here); [salt] keeps digests apart between tests. */
fun photoCommand(moment: String, salt: String): String {
    val digest = java.security.MessageDigest.getInstance("SHA-256").digest("$salt $moment".toByteArray())
        .joinToString("") { "%02x".format(it) }
    return """{"type": "take_photo", "moment": "$moment", "digest": "$digest", "size_bytes": 8192, "width": 1280, "height": 960}"""
}

/** An appliance repair by the book up to the fee schedule shown, as (minutes from the window start, command). */
fun repairToTheFeeSchedule(salt: String): List<Pair<Int, String>> = listOf(
    -120 to """{"type": "log_call", "outcome": "reached"}""",
    -119 to """{"type": "confirm_appointment", "address_confirmed": true, "product_confirmed": true}""",
) + listOf("tools", "parts", "drop_cloth", "shoe_covers", "warranty_sheet", "receipts", "fee_schedule", "work_permit")
    .map { -60 to """{"type": "check_kit_item", "item": "$it"}""" } + listOf(
    -30 to """{"type": "depart", "travel_minutes": 20}""",
    -8 to """{"type": "arrive"}""",
    -7 to """{"type": "check_appearance", "items": ["uniform", "clean", "permit_visible"]}""",
    -7 to """{"type": "knock", "method": "bell"}""",
    -6 to """{"type": "door_answered"}""",
    -6 to """{"type": "enter", "greeted": true, "permit_shown": true}""",
    -5 to """{"type": "put_on_shoe_covers"}""",
    -5 to """{"type": "lay_drop_cloth"}""",
    5 to """{"type": "record_diagnosis", "fault_reproduced": true, "cause": "启动继电器烧坏", "parts": ["part_compressor_relay"], "decision": "fix_on_site"}""",
    6 to photoCommand("nameplate", salt),
    6 to photoCommand("fault_before", salt),
    8 to """{"type": "show_fee_schedule"}""",
)
