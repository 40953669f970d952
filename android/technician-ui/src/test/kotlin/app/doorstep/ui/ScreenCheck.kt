package app.doorstep.ui

import androidx.compose.runtime.Composable
import androidx.compose.runtime.CompositionLocalProvider
import androidx.compose.ui.ImageComposeScene
import androidx.compose.ui.unit.Density
import androidx.compose.ui.use
import app.doorstep.shell.Language
import org.jetbrains.skia.EncodedImageFormat
import java.io.File

/**
 * Renders a screen headless at a phone's width (360 dp), writes its PNG to
 * target/screenshots, and returns every text laid out with its overflow
 * flag; [assertReadable] fails on overflow, raw codes, or English in zh-CN.
 */
object ScreenCheck {
    const val WIDTH_DP = 360
    private const val DENSITY = 2f
    val dir = File(System.getProperty("doorstep.screenshots.dir") ?: "target/screenshots").apply { mkdirs() }

    data class Laid(val text: String, val overflowed: Boolean)

    fun render(name: String, language: Language, heightDp: Int = 1800, content: @Composable () -> Unit): List<Laid> {
        val laid = java.util.concurrent.CopyOnWriteArrayList<Laid>()
        val probe = TextLayoutProbe { text, overflowed -> laid.add(Laid(text, overflowed)) }
        ImageComposeScene((WIDTH_DP * DENSITY).toInt(), (heightDp * DENSITY).toInt(), Density(DENSITY)) {
            CompositionLocalProvider(LocalTextLayoutProbe provides probe, LocalStrings provides UiStrings.of(language)) {
                DoorstepTheme { androidx.compose.material3.Surface { content() } }
            }
        }.use { scene ->
            scene.render(0)
            val image = scene.render(100_000_000)
            val png = image.encodeToData(EncodedImageFormat.PNG) ?: error("PNG encoding failed")
            File(dir, "$name-${language.name.lowercase()}.png").writeBytes(png.bytes)
        }
        return laid.distinct()
    }

    private val cjk = Regex("[\\u4e00-\\u9fff]")
    private val englishWord = Regex("[A-Za-z]{3,}")
    private val code = Regex("^[a-z0-9]+(_[a-z0-9]+)+$")

    /** Texts allowed to be Latin in Chinese mode: the switch to English, and data (hex digests, model numbers). */
    private val latinAllowed = setOf("English")

    fun problems(laid: List<Laid>, language: Language): List<String> = laid.flatMap { l ->
        listOfNotNull(
            "overflows at $WIDTH_DP dp: \"${l.text}\"".takeIf { l.overflowed },
            "raw code on screen: \"${l.text}\"".takeIf { code.matches(l.text.trim()) },
            "English in zh-CN: \"${l.text}\"".takeIf {
                language == Language.ZH && l.text !in latinAllowed && !cjk.containsMatchIn(l.text) && englishWord.containsMatchIn(l.text)
            },
        )
    }

    fun assertReadable(name: String, language: Language, laid: List<Laid>) {
        val p = problems(laid, language)
        check(laid.isNotEmpty()) { "$name rendered no text" }
        check(p.isEmpty()) { "$name (${language.name}):\n" + p.joinToString("\n") }
    }
}
