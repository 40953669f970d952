package app.doorstep.ui

import java.io.File
import java.net.URI
import java.net.http.HttpClient
import java.net.http.HttpRequest
import java.net.http.HttpResponse
import java.nio.file.Files
import java.time.Instant
import java.time.ZoneOffset
import java.util.concurrent.CopyOnWriteArrayList
import kotlin.concurrent.thread
import kotlin.math.abs

/**
 * A real doorstep-server on an ephemeral port with its own data directory,
 * and a dispatcher's HTTP calls to it (the binary from -Ddoorstep.server.bin).
 * Its business time zone is one where it is mid-morning now ([morningZone]),
 * so a visit booked for the next hours is on the phone's "today" whatever
 * hour the tests run at (in Beijing time, one booked at 23:30 is tomorrow's).
 */
class TestServer private constructor(
    private val process: Process,
    private val data: java.nio.file.Path,
    val base: String,
    /** The server's business time zone: the days orders, reports and reconciliation are counted in. */
    val zone: String,
    private val output: List<String>,
) : AutoCloseable {
    private val http = HttpClient.newHttpClient()
    val admin: String = field(call("POST", "/api/login", """{"username": "admin", "password": "$ADMIN_PASSWORD"}""", null), "token")

    fun call(method: String, path: String, body: String?, token: String? = admin): String {
        val req = HttpRequest.newBuilder(URI.create(base + path)).header("content-type", "application/json")
            .method(method, body?.let { HttpRequest.BodyPublishers.ofString(it) } ?: HttpRequest.BodyPublishers.noBody())
        token?.let { req.header("authorization", "Bearer $it") }
        val res = http.send(req.build(), HttpResponse.BodyHandlers.ofString())
        check(res.statusCode() in 200..299) { "$method $path: ${res.statusCode()} ${res.body()}\n${output.takeLast(20).joinToString("\n")}" }
        return res.body()
    }

    /** Stops the server and removes its data directory. */
    override fun close() {
        process.destroy()
        process.waitFor()
        data.toFile().deleteRecursively()
    }

    companion object {
        const val ADMIN_PASSWORD = "handover-secret-9"

        fun field(json: String, name: String): String =
            Regex("\"$name\"\\s*:\\s*\"([^\"]*)\"").find(json)?.groupValues?.get(1) ?: error("no $name in $json")

        /**
         * A business time zone (`Etc/GMT±N`) in which it is now between 09:00
         * and 10:00, so the next twelve hours are all today.
         */
        fun morningZone(now: Instant): String {
            var offset = 9 - now.atOffset(ZoneOffset.UTC).hour
            if (offset < -12) offset += 24
            // POSIX sign: Etc/GMT-8 is eight hours east of Greenwich.
            return if (offset == 0) "Etc/UTC" else "Etc/GMT${if (offset > 0) "-" else "+"}${abs(offset)}"
        }

        fun start(): TestServer {
            val bin = System.getProperty("doorstep.server.bin") ?: error("set -Ddoorstep.server.bin (scripts/test-all does)")
            check(File(bin).canExecute()) { "$bin is not an executable doorstep-server: build it with cargo build -p doorstep-server" }
            val data = Files.createTempDirectory("doorstep-ui-server")
            val zone = morningZone(Instant.now())
            val process = ProcessBuilder(
                bin, "--listen", "127.0.0.1:0", "--data-dir", data.toString(),
                "--admin-user", "admin", "--admin-password", ADMIN_PASSWORD,
                "--business-time-zone", zone,
            ).redirectErrorStream(true).start()
            val output = CopyOnWriteArrayList<String>()
            val lines = process.inputStream.bufferedReader()
            val listening = Regex("listening on (http://[0-9.:]+)/")
            var base: String? = null
            while (base == null) {
                val line = lines.readLine() ?: error("doorstep-server exited before listening:\n${output.joinToString("\n")}")
                output.add(line)
                base = listening.find(line)?.groupValues?.get(1)
            }
            // The stream closes when the server is stopped: the end of its output.
            thread(isDaemon = true) { runCatching { lines.forEachLine { output.add(it) } } }
            return TestServer(process, data, base, zone, output)
        }
    }
}
