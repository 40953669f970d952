package app.doorstep.shell

/**
 * A minimal JSON writer for commands. Commands cross the FFI as JSON and are
 * validated by the core; the shell only needs to write them, so a tiny
 * encoder avoids a JSON library on the phone.
 */
object Json {
    fun encode(value: Any?): String = StringBuilder().also { write(it, value) }.toString()

    private fun write(out: StringBuilder, value: Any?) {
        when (value) {
            null -> out.append("null")
            is String -> string(out, value)
            is Boolean, is Int, is Long, is Short, is Byte -> out.append(value.toString())
            is UInt, is ULong -> out.append(value.toString())
            is Double -> {
                require(value.isFinite()) { "JSON has no $value" }
                out.append(value.toString())
            }
            is Float -> write(out, value.toDouble())
            is Map<*, *> -> {
                out.append('{')
                value.entries.forEachIndexed { i, (k, v) ->
                    if (i > 0) out.append(',')
                    string(out, k.toString())
                    out.append(':')
                    write(out, v)
                }
                out.append('}')
            }
            is Iterable<*> -> {
                out.append('[')
                value.forEachIndexed { i, v ->
                    if (i > 0) out.append(',')
                    write(out, v)
                }
                out.append(']')
            }
            is Raw -> out.append(value.json)
            else -> throw IllegalArgumentException("cannot encode ${value::class.simpleName} as JSON")
        }
    }

    private fun string(out: StringBuilder, s: String) {
        out.append('"')
        for (c in s) {
            when (c) {
                '"' -> out.append("\\\"")
                '\\' -> out.append("\\\\")
                '\n' -> out.append("\\n")
                '\r' -> out.append("\\r")
                '\t' -> out.append("\\t")
                else -> if (c < ' ') out.append("\\u%04x".format(c.code)) else out.append(c)
            }
        }
        out.append('"')
    }

    /** Already-encoded JSON (e.g. an assignment received from sync), embedded as is. */
    data class Raw(val json: String)
}
