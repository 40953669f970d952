package app.doorstep.shell

import app.doorstep.core.Location

/**
 * Builders for the commands the screens send, written as the core's command
 * JSON (`{"type": "...", ...}`, docs/SCRIPTS.md). The core validates every
 * field; these only spare the UI from hand-writing JSON.
 */
object Commands {
    private fun cmd(type: String, vararg fields: Pair<String, Any?>): String =
        Json.encode(linkedMapOf<String, Any?>("type" to type).apply { putAll(fields) })

    /** An assignment as the center sent it (JSON object). */
    fun receiveAssignment(assignmentJson: String) = cmd("receive_assignment", "assignment" to Json.Raw(assignmentJson))
    fun logCall(outcome: String, purpose: String = "appointment") = cmd("log_call", "outcome" to outcome, "purpose" to purpose)
    fun confirmAppointment(addressConfirmed: Boolean = true, productConfirmed: Boolean = true) =
        cmd("confirm_appointment", "address_confirmed" to addressConfirmed, "product_confirmed" to productConfirmed)
    fun checkKitItem(item: String) = cmd("check_kit_item", "item" to item)
    fun skipKitItem(item: String, reason: String) = cmd("skip_kit_item", "item" to item, "reason" to reason)
    fun depart(travelMinutes: Int) = cmd("depart", "travel_minutes" to travelMinutes)
    fun arrive(location: Location?, outsideGeofenceReason: String? = null) = cmd(
        "arrive",
        "location" to location?.let { mapOf("lat" to it.lat, "lon" to it.lon, "accuracy_m" to it.accuracyM) },
        "outside_geofence_reason" to outsideGeofenceReason,
    )
    fun apologiseForLateness(giftOffered: Boolean, giftAccepted: Boolean) =
        cmd("apologise_for_lateness", "gift_offered" to giftOffered, "gift_accepted" to giftAccepted)
    fun checkAppearance(items: List<String>) = cmd("check_appearance", "items" to items)
    fun knock(method: String = "knock") = cmd("knock", "method" to method)
    fun doorAnswered() = cmd("door_answered")
    fun enter(greeted: Boolean = true, permitShown: Boolean = true) = cmd("enter", "greeted" to greeted, "permit_shown" to permitShown)
    fun putOnShoeCovers() = cmd("put_on_shoe_covers")
    fun layDropCloth() = cmd("lay_drop_cloth")
    fun recordDiagnosis(cause: String, parts: List<String>, decision: String = "fix_on_site", faultReproduced: Boolean = true) =
        cmd("record_diagnosis", "fault_reproduced" to faultReproduced, "cause" to cause, "parts" to parts, "decision" to decision)
    fun showFeeSchedule() = cmd("show_fee_schedule")

    /** A quote of fee-schedule items with quantities. */
    fun presentQuote(items: List<Pair<String, Int>>) =
        cmd("present_quote", "quote" to mapOf("lines" to items.map { (item, qty) -> mapOf("item" to item, "qty" to qty) }))
    fun acceptQuote(revision: UInt) = cmd("accept_quote", "revision" to revision)
    fun refuseQuote(reason: String) = cmd("refuse_quote", "reason" to reason)
    fun recordWork(description: String, partsUsed: List<Map<String, String?>> = emptyList()) =
        cmd("record_work", "description" to description, "parts_used" to partsUsed)
    fun recordTestRun(passed: Boolean, notes: String? = null) = cmd("record_test_run", "passed" to passed, "notes" to notes)
    fun briefCustomer() = cmd("brief_customer")
    fun cleanUp() = cmd("clean_up", "product_restored" to true, "wiped" to true, "floor_cleaned" to true, "no_tool_left" to true)
    fun collectPayment(amountFen: Long, method: String, receiptNumber: String) = cmd(
        "collect_payment", "amount" to amountFen, "method" to method,
        "receipt" to mapOf("kind" to "receipt", "number" to receiptNumber),
    )
    fun leave(serviceCardGiven: Boolean = true, shoeCoversOffAtDoor: Boolean = true) =
        cmd("leave", "service_card_given" to serviceCardGiven, "shoe_covers_off_at_door" to shoeCoversOffAtDoor)
}
