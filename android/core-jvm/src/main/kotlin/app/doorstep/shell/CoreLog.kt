package app.doorstep.shell

import app.doorstep.core.LogLevel
import app.doorstep.core.LogRecord
import app.doorstep.core.Logger
import app.doorstep.core.setLogger

/**
 * The core's log lines into the platform's log (Logcat on Android). Call
 * [install] once at startup; calling it again replaces the sink and level.
 */
object CoreLog {
    fun install(level: LogLevel = LogLevel.INFO, sink: (LogRecord) -> Unit) {
        setLogger(
            object : Logger {
                override fun log(record: LogRecord) {
                    // A throwing sink must not break the core's caller.
                    runCatching { sink(record) }
                }
            },
            level,
        )
    }

    /** Stops forwarding. */
    fun uninstall() = setLogger(null, LogLevel.ERROR)
}
