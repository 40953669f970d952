package app.doorstep.shell

import app.doorstep.core.DoorstepException
import app.doorstep.core.VisitSession
import app.doorstep.core.runVisitScript
import app.doorstep.core.shippedPlaybookJson
import app.doorstep.core.shippedPlaybooks
import app.doorstep.core.validatePlaybook
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.assertThrows

/** The free functions and error paths of the binding, against the real library. */
class CoreFunctionsTest {
    @Test
    fun `six trades ship with Chinese and English names`() {
        val all = shippedPlaybooks()
        assertEquals(6, all.size)
        val ar = all.single { it.id == "appliance_repair" }
        assertTrue(ar.name.zh.isNotBlank() && ar.name.en.isNotBlank())
        assertEquals("CNY", ar.currency)
        assertTrue("quote" in ar.steps)
    }

    @Test
    fun `a custom playbook is validated and a broken one names the field`() {
        val shipped = shippedPlaybookJson("appliance_repair")
        assertEquals("appliance_repair", validatePlaybook(shipped).id)
        val broken = shipped.replaceFirst("\"version\":1", "\"version\":0")
        val e = assertThrows<DoorstepException.InvalidPlaybook> { validatePlaybook(broken) }
        assertEquals("invalid_playbook", e.code)
        assertEquals("version", e.field)
        assertTrue(e.zh.contains("version"), e.zh)
        assertTrue(e.en.contains("version"), e.en)
    }

    @Test
    fun `a visit script runs to its view JSON, and a refused line names the line`() {
        val header = """{"doorstep_script": 1, "trade": "appliance_repair", "device_id": "dev-1"}"""
        val receive = """{"at": "2026-11-25T08:00:00Z", "command": {"type": "receive_assignment", "assignment": ${assignmentJson().replace("\n", " ")}}}"""
        val view = runVisitScript("$header\n$receive\n", null)
        assertTrue(view.contains("\"stage\":\"intake\""), view)
        val bad = """{"at": "2026-11-25T08:05:00Z", "command": {"type": "depart", "travel_minutes": 20}}"""
        val e = assertThrows<DoorstepException.Script> { runVisitScript("$header\n$receive\n$bad\n", null) }
        assertEquals(3u, e.line)
        assertTrue(e.zh.startsWith("第3行"), e.zh)
    }

    @Test
    fun `bad input never crashes the JVM`() {
        assertEquals("invalid_id", assertThrows<DoorstepException.InvalidInput> { VisitSession("appliance_repair", "bad id", "x") }.code)
        assertEquals("unknown_trade", assertThrows<DoorstepException.InvalidInput> { VisitSession("plumbing", "dev-1", "x") }.code)
        VisitSession("appliance_repair", "dev-1", "x").use { s ->
            val e = assertThrows<DoorstepException.InvalidInput> { s.apply("{not json", java.time.Instant.EPOCH, null) }
            assertEquals("invalid_command", e.code)
            assertTrue(s.screenJson(java.time.Instant.EPOCH).contains("\"stage\":\"new\""))
            assertEquals(null, s.reportDigest(java.time.Instant.EPOCH))
        }
    }

    @Test
    fun `a session can run a custom playbook`() {
        val json = shippedPlaybookJson("appliance_repair")
        assertEquals("appliance_repair", validatePlaybook(json).id)
        VisitSession.withPlaybook(json, "dev-1", "Wang Wei").use { s ->
            assertEquals("appliance_repair", s.screen(java.time.Instant.EPOCH).trade)
        }
    }

    @Test
    fun `the generated exception carries code and both texts`() {
        app.doorstep.core.VisitSession("appliance_repair", "dev-1", "Wang Wei").use { s ->
            s.receiveAssignment(assignmentJson(), today("08:00"))
            val e = assertThrows<DoorstepException.Refused> {
                s.submitAction("accept_quote", FormValues.of("revision" to 1), today("08:05"), null)
            }
            assertTrue(e.code.isNotEmpty())
            assertTrue(e.zh.isNotEmpty() && e.en.isNotEmpty())
            assertEquals(e.zh, e.text(Language.ZH))
            assertEquals(1UL, s.eventCount())
        }
    }

}
