package app.doorstep.shell

import app.doorstep.core.DoorstepException

/** The display language the shell shows core texts in. */
enum class Language {
    ZH, EN;

    companion object {
        /** Chinese unless the phone is set to English (mirrors the core's fallback). */
        fun fromTag(tag: String): Language = if (tag.lowercase().startsWith("en")) EN else ZH
    }
}

/** The stable code of any core error (`kit_incomplete`, `invalid_command`, ...). */
val DoorstepException.code: String
    get() = when (this) {
        is DoorstepException.Refused -> code
        is DoorstepException.InvalidInput -> code
        is DoorstepException.InvalidForm -> code
        is DoorstepException.InvalidPlaybook -> code
        is DoorstepException.Script -> code
        is DoorstepException.Store -> code
        is DoorstepException.Sync -> code
        is DoorstepException.Internal -> code
    }

/** The refused fields of a submitted form (empty for other errors): show each next to its field. */
val DoorstepException.formProblems: List<app.doorstep.core.FormProblem>
    get() = if (this is DoorstepException.InvalidForm) problems else emptyList()

/** The core's text for this error in [lang]: what refused, and what would satisfy it. */
fun DoorstepException.text(lang: Language): String {
    val (en, zh) = when (this) {
        is DoorstepException.Refused -> en to zh
        is DoorstepException.InvalidInput -> en to zh
        is DoorstepException.InvalidForm -> en to zh
        is DoorstepException.InvalidPlaybook -> en to zh
        is DoorstepException.Script -> en to zh
        is DoorstepException.Store -> en to zh
        is DoorstepException.Sync -> en to zh
        is DoorstepException.Internal -> en to zh
    }
    return if (lang == Language.EN) en else zh
}

/** A result the UI can render: either the value or the refusal to show. */
sealed class CoreResult<out T> {
    data class Ok<T>(val value: T) : CoreResult<T>()

    /** [rule] is true when a service-standard rule refused (as opposed to bad input or a bug). */
    data class Failed(val code: String, val en: String, val zh: String, val rule: Boolean) : CoreResult<Nothing>() {
        fun text(lang: Language) = if (lang == Language.EN) en else zh
    }

    companion object {
        /** Runs [block], turning a core error into [Failed]; other exceptions propagate (bugs). */
        inline fun <T> of(block: () -> T): CoreResult<T> = try {
            Ok(block())
        } catch (e: DoorstepException) {
            Failed(e.code, e.text(Language.EN), e.text(Language.ZH), e is DoorstepException.Refused)
        }
    }
}
