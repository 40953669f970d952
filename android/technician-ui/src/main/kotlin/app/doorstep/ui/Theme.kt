//! The design system of the technician UI: the Material3 theme, big touch
//! targets for one-handed use, and [UiText], the one text composable, which
//! reports every rendered text and whether it overflowed to a test hook.
package app.doorstep.ui

import androidx.compose.foundation.layout.Arrangement
import androidx.compose.foundation.layout.Column
import androidx.compose.foundation.layout.ColumnScope
import androidx.compose.foundation.layout.defaultMinSize
import androidx.compose.foundation.layout.fillMaxWidth
import androidx.compose.foundation.layout.padding
import androidx.compose.material3.Button
import androidx.compose.material3.Card
import androidx.compose.material3.MaterialTheme
import androidx.compose.material3.OutlinedButton
import androidx.compose.material3.Text
import androidx.compose.material3.lightColorScheme
import androidx.compose.runtime.Composable
import androidx.compose.runtime.staticCompositionLocalOf
import androidx.compose.ui.Modifier
import androidx.compose.ui.graphics.Color
import androidx.compose.ui.text.TextStyle
import androidx.compose.ui.text.font.FontWeight
import androidx.compose.ui.text.style.TextOverflow
import androidx.compose.ui.unit.dp

/** Minimum height of anything a thumb presses (Material's 48 dp, raised for gloves and one hand). */
val TouchTarget = 56.dp

/** Receives every text [UiText] lays out; tests collect overflows and languages through it. */
fun interface TextLayoutProbe {
    fun laidOut(text: String, overflowed: Boolean)
}

val LocalTextLayoutProbe = staticCompositionLocalOf<TextLayoutProbe?> { null }

private val Colors = lightColorScheme(
    primary = Color(0xFF0B5FA5),
    secondary = Color(0xFF2E7D32),
    error = Color(0xFFB3261E),
)

@Composable
fun DoorstepTheme(content: @Composable () -> Unit) = MaterialTheme(colorScheme = Colors, content = content)

/** Every text of the UI: a Material [Text] whose layout is reported to [LocalTextLayoutProbe]. */
@Composable
fun UiText(
    text: String,
    modifier: Modifier = Modifier,
    style: TextStyle = MaterialTheme.typography.bodyLarge,
    color: Color = Color.Unspecified,
    fontWeight: FontWeight? = null,
    maxLines: Int = Int.MAX_VALUE,
) {
    val probe = LocalTextLayoutProbe.current
    Text(
        text = text,
        modifier = modifier,
        style = style,
        color = color,
        fontWeight = fontWeight,
        maxLines = maxLines,
        overflow = if (maxLines == Int.MAX_VALUE) TextOverflow.Clip else TextOverflow.Ellipsis,
        onTextLayout = { probe?.laidOut(text, it.hasVisualOverflow) },
    )
}

/** A full-width primary button with a thumb-sized target. */
@Composable
fun BigButton(label: String, onClick: () -> Unit, modifier: Modifier = Modifier, enabled: Boolean = true) {
    Button(onClick = onClick, enabled = enabled, modifier = modifier.fillMaxWidth().defaultMinSize(minHeight = TouchTarget)) {
        UiText(label, style = MaterialTheme.typography.titleMedium)
    }
}

/** A full-width secondary button with a thumb-sized target. */
@Composable
fun BigOutlinedButton(label: String, onClick: () -> Unit, modifier: Modifier = Modifier, enabled: Boolean = true) {
    OutlinedButton(onClick = onClick, enabled = enabled, modifier = modifier.fillMaxWidth().defaultMinSize(minHeight = TouchTarget)) {
        UiText(label, style = MaterialTheme.typography.titleMedium)
    }
}

/** A titled card section. */
@Composable
fun Section(title: String, modifier: Modifier = Modifier, content: @Composable ColumnScope.() -> Unit) {
    Card(modifier.fillMaxWidth()) {
        Column(Modifier.padding(16.dp), verticalArrangement = Arrangement.spacedBy(8.dp)) {
            UiText(title, style = MaterialTheme.typography.titleMedium, fontWeight = FontWeight.Bold)
            content()
        }
    }
}

/** A refusal or validation text in the error colour, shown next to what it concerns. */
@Composable
fun ErrorText(text: String, modifier: Modifier = Modifier) =
    UiText(text, modifier, style = MaterialTheme.typography.bodyMedium, color = MaterialTheme.colorScheme.error)
