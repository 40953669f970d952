package app.doorstep.shell

import app.doorstep.core.HttpHeader
import app.doorstep.core.HttpRequest
import app.doorstep.core.HttpResponse
import app.doorstep.core.HttpTransport
import app.doorstep.core.TransportException
import java.io.IOException
import java.net.HttpURLConnection
import java.net.URI

/**
 * The core's HTTP over the platform's `HttpURLConnection` (OkHttp inside on
 * Android; the JDK's on the JVM), so sync follows the phone's proxy, VPN
 * and trusted certificates. It only moves bytes: any status is an answer
 * for the core to read; only a failure to get an answer (no route, refused,
 * timed out, TLS rejected) is thrown, as [TransportException.Network].
 *
 * The body is passed on as received: the core asks for zstd or gzip itself
 * (`Accept-Encoding`), which also keeps Android's stack from decoding it.
 * [cancel] drops the connections in flight when the technician cancels a
 * sync or the phone goes offline.
 */
class UrlConnectionTransport(private val maxConnectMillis: Int = 10_000) : HttpTransport {
    /** Connections in flight, so a cancelled sync can drop them. */
    private val inFlight = java.util.concurrent.ConcurrentHashMap.newKeySet<HttpURLConnection>()

    /**
     * How many times [cancel] was called. Dropping a connection that is
     * still connecting does nothing (`HttpURLConnection` has no socket to
     * close yet), so a request compares this count once connected: a cancel
     * that came before is seen there, one that comes after finds the socket.
     */
    private val cancels = java.util.concurrent.atomic.AtomicLong()

    override fun send(request: HttpRequest): HttpResponse {
        val conn = try {
            URI(request.url).toURL().openConnection() as HttpURLConnection
        } catch (e: Exception) {
            throw TransportException.Network("cannot open ${request.url}: ${e.message}")
        }
        val cancelsBefore = cancels.get()
        inFlight.add(conn)
        try {
            val timeout = request.timeoutMs.coerceAtMost(Int.MAX_VALUE.toULong()).toInt()
            conn.connectTimeout = minOf(timeout, maxConnectMillis)
            conn.readTimeout = timeout
            conn.requestMethod = request.method
            conn.instanceFollowRedirects = false
            conn.useCaches = false
            request.headers.forEach { conn.setRequestProperty(it.name, it.value) }
            val sendsBody = request.method == "POST" || request.method == "PUT"
            if (sendsBody) {
                conn.doOutput = true
                conn.setFixedLengthStreamingMode(request.body.size)
            }
            conn.connect()
            if (cancels.get() != cancelsBefore) {
                throw IOException("the sync was cancelled while connecting")
            }
            if (sendsBody) {
                conn.outputStream.use { it.write(request.body) }
            }
            val status = conn.responseCode
            val stream = if (status >= 400) conn.errorStream else conn.inputStream
            val body = stream?.use { it.readBytes() } ?: ByteArray(0)
            val headers = conn.headerFields
                .filterKeys { it != null }
                .flatMap { (name, values) -> values.map { HttpHeader(name, it) } }
            return HttpResponse(status.toUShort(), headers, body)
        } catch (e: IOException) {
            throw TransportException.Network("${e.javaClass.simpleName}: ${e.message}")
        } finally {
            inFlight.remove(conn)
            conn.disconnect()
        }
    }

    /** The sync was cancelled: drop every connection in flight (their reads fail at once). */
    override fun cancel() {
        cancels.incrementAndGet()
        inFlight.toList().forEach { runCatching { it.disconnect() } }
    }
}
