package app.doorstep.ui

import androidx.compose.ui.geometry.Offset
import org.junit.Assert.assertEquals
import org.junit.Assert.assertTrue
import org.junit.Test

/** Coordinate datums, map hand-offs and smooth ink. */
class PureLogicTest {
    private fun close(expected: Double, actual: Double, what: String) =
        assertTrue("$what: expected $expected, got $actual", kotlin.math.abs(expected - actual) < 1e-9)

    @Test
    fun wgs84_to_gcj02_and_bd09_match_the_reference_vectors() {
        // The reference vectors of the widely used coordtransform implementations (Tiananmen, 39.915 N 116.404 E).
        val (gLat, gLon) = ChinaCoordinates.wgs84ToGcj02(39.915, 116.404)
        close(39.91640428150164, gLat, "WGS-84 to GCJ-02 lat")
        close(116.41024449916938, gLon, "WGS-84 to GCJ-02 lon")
        val (bLat, bLon) = ChinaCoordinates.gcj02ToBd09(39.915, 116.404)
        close(39.92133699351021, bLat, "GCJ-02 to BD-09 lat")
        close(116.41036949371029, bLon, "GCJ-02 to BD-09 lon")
        val (wbLat, wbLon) = ChinaCoordinates.wgs84ToBd09(39.915, 116.404)
        close(39.922699552216216, wbLat, "WGS-84 to BD-09 lat")
        close(116.41662724378733, wbLon, "WGS-84 to BD-09 lon")
    }

    @Test
    fun outside_china_is_not_shifted() {
        assertEquals(48.8584 to 2.2945, ChinaCoordinates.wgs84ToGcj02(48.8584, 2.2945))
    }

    @Test
    fun amap_gets_gcj02_and_baidu_bd09() {
        val target = MapTarget("世纪大道88号", 31.2304 to 121.4737)
        val (gLat, gLon) = ChinaCoordinates.wgs84ToGcj02(31.2304, 121.4737)
        assertTrue(MapIntents.uri(MapApp.AMAP, target).contains("lat=%.6f&lon=%.6f".format(java.util.Locale.ROOT, gLat, gLon)))
        val (bLat, bLon) = ChinaCoordinates.wgs84ToBd09(31.2304, 121.4737)
        assertTrue(MapIntents.uri(MapApp.BAIDU, target).contains("location=%.6f,%.6f".format(java.util.Locale.ROOT, bLat, bLon)))
        assertTrue(MapIntents.uri(MapApp.AMAP, MapTarget("世纪大道88号", null)).contains("keywords="))
    }

    @Test
    fun ink_is_quadratic_curves_through_midpoints() {
        val pts = listOf(Offset(0f, 0f), Offset(10f, 0f), Offset(10f, 10f), Offset(20f, 10f))
        val ink = smoothInk(pts)
        assertEquals(3, ink.size)
        assertEquals(InkSegment(Offset(0f, 0f), Offset(10f, 0f), Offset(10f, 5f)), ink[0])
        assertEquals(InkSegment(Offset(10f, 5f), Offset(10f, 10f), Offset(15f, 10f)), ink[1])
        assertEquals(Offset(20f, 10f), ink[2].to)
        // Consecutive segments join: the line never jumps.
        ink.zipWithNext().forEach { (a, b) -> assertEquals(a.to, b.from) }
    }
}
