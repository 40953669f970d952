package app.doorstep.ui

import app.doorstep.core.Location
import java.io.File
import java.time.Instant

/**
 * The repo's example visits (`examples/<trade>.jsonl`, the visits the
 * core's script tests walk to their close), read as steps to replay on a
 * `VisitSession`.
 */
object ExampleVisits {
    /** One step of an example visit: when, the command's JSON, its type, and where the phone was. */
    data class Step(val at: Instant, val command: String, val type: String, val location: Location?)

    /** The example visit's steps that the core accepts (lines expecting a refusal left out), in order. */
    fun steps(trade: String): List<Step> =
        File("../../examples/$trade.jsonl").readLines()
            .filter { it.startsWith("{\"at\"") && "\"expect\"" !in it }
            .map { line ->
                val at = Regex("\"at\"\\s*:\\s*\"([^\"]+)\"").find(line)!!.groupValues[1]
                val command = objectAfter(line, "\"command\"")!!
                val type = Regex("\"type\"\\s*:\\s*\"([a-z_]+)\"").find(command)!!.groupValues[1]
                val rest = line.substring(line.indexOf(command) + command.length)
                val location = objectAfter(rest, "\"location\"")?.let { fix ->
                    fun n(k: String) = Regex("\"$k\"\\s*:\\s*([0-9.]+)").find(fix)!!.groupValues[1].toDouble()
                    Location(n("lat"), n("lon"), n("accuracy_m"))
                }
                Step(java.time.OffsetDateTime.parse(at).toInstant(), command, type, location)
            }

    /** The JSON object following [key] in [text] (braces inside strings skipped), or null. */
    private fun objectAfter(text: String, key: String): String? {
        val from = text.indexOf(key).takeIf { it >= 0 }?.let { text.indexOf('{', it) } ?: return null
        var depth = 0
        var inString = false
        var i = from
        while (i < text.length) {
            val c = text[i]
            when {
                inString && c == '\\' -> i++
                c == '"' -> inString = !inString
                !inString && c == '{' -> depth++
                !inString && c == '}' -> if (--depth == 0) return text.substring(from, i + 1)
            }
            i++
        }
        return null
    }

}
