package app.doorstep.shell

import app.doorstep.core.ActionItem
import app.doorstep.core.ChecklistItem
import app.doorstep.core.LocalTimes
import app.doorstep.core.LocalizedText
import app.doorstep.core.QuoteSummary
import app.doorstep.core.ReportDigest
import app.doorstep.core.SyncPhase
import app.doorstep.core.SyncServiceState
import app.doorstep.core.VisitOutcome
import app.doorstep.core.VisitScreen
import app.doorstep.core.VisitStage
import app.doorstep.core.formatMoney
import app.doorstep.core.outcomeLabel
import app.doorstep.core.stageLabel
import java.time.Duration
import java.time.Instant

/**
 * UI state for each screen, derived from the core's records: plain data the
 * Compose (or SwiftUI-equivalent) views render without any rule of their own.
 * Texts come from the core in both languages; the shell only picks one.
 */
fun LocalizedText.pick(lang: Language): String = if (lang == Language.EN) en else zh

/** Stage names for headers and the today list: the core's labels. */
fun VisitStage.label(lang: Language): String = stageLabel(this).pick(lang)

/** How a visit ended, as the core names it. */
fun VisitOutcome.label(lang: Language): String = outcomeLabel(this).pick(lang)

/** Money in minor units, formatted for display (`¥123.00`) by the core. */
object Money {
    fun format(minor: Long, currency: String): String = formatMoney(minor, currency)
}

/** One row of today's list. */
data class TodayRow(val assignmentId: String, val title: String, val window: String, val status: String, val done: Boolean)

/** Today's list screen. */
data class TodayListState(val rows: List<TodayRow>) {
    val openCount: Int get() = rows.count { !it.done }

    companion object {
        /** Today's rows; their windows' times are the core's ([times], the business time zone's). */
        fun of(visits: List<VisitSummary>, lang: Language, times: LocalTimes) = TodayListState(
            visits.map { v ->
                TodayRow(
                    assignmentId = v.assignmentId,
                    title = if (lang == Language.EN) v.tradeNameEn else v.tradeNameZh,
                    window = v.window?.let { times.clockWindow(it).pick(lang) } ?: "",
                    status = v.outcome?.label(lang) ?: v.stage.label(lang),
                    done = v.stage == VisitStage.CLOSED,
                )
            },
        )
    }
}

/**
 * The knock timer on the door screen: when the next knock is allowed, when
 * to phone the customer, when "customer absent" may be declared. Whole
 * seconds remaining at [now]; zero means "now".
 */
data class KnockTimerState(
    val knockInSeconds: Long?,
    val callCustomerInSeconds: Long?,
    val absentAllowedInSeconds: Long?,
) {
    val canKnockNow: Boolean get() = knockInSeconds == null || knockInSeconds == 0L

    companion object {
        private fun remaining(at: Instant?, now: Instant): Long? =
            at?.let { maxOf(0L, (Duration.between(now, it).toMillis() + 999) / 1000) }

        fun of(screen: VisitScreen, now: Instant) = KnockTimerState(
            remaining(screen.timers.nextKnockAt, now),
            remaining(screen.timers.callCustomerAt, now),
            remaining(screen.timers.absentAllowedAt, now),
        )
    }
}

/** An action button. */
data class ActionButton(val command: String, val label: String, val required: Boolean)

/** A checklist row (kit or appearance). */
data class ChecklistRow(val id: String, val label: String, val mandatory: Boolean, val done: Boolean)

/** The visit flow screen: header, what to say, what to do next, the lists and timers. */
data class VisitFlowState(
    val title: String,
    val stage: VisitStage,
    val stageLabel: String,
    val prompts: List<String>,
    val primary: ActionButton?,
    val others: List<ActionButton>,
    val kit: List<ChecklistRow>,
    val appearance: List<ChecklistRow>,
    val knockTimer: KnockTimerState?,
    val quote: QuoteScreenState?,
    val reportDigestShort: String?,
    val signed: Boolean,
    val closedAs: String?,
) {
    /** Whether the visit offers [command] now. */
    fun offers(command: String): Boolean = primary?.command == command || others.any { it.command == command }

    companion object {
        private fun ActionItem.button(lang: Language) = ActionButton(command, label.pick(lang), required)
        private fun ChecklistItem.row(lang: Language) =
            ChecklistRow(id, name.pick(lang), mandatory, status == "checked" || status == "skipped")

        fun of(screen: VisitScreen, now: Instant, lang: Language): VisitFlowState {
            val buttons = screen.nextActions.map { it.button(lang) }
            val primary = buttons.firstOrNull { it.required }
            return VisitFlowState(
                title = screen.tradeName.pick(lang),
                stage = screen.stage,
                stageLabel = screen.stage.label(lang),
                prompts = screen.prompts.map { it.text.pick(lang) },
                primary = primary,
                others = buttons.filter { it != primary },
                kit = screen.checklist.map { it.row(lang) },
                appearance = screen.appearance.map { it.row(lang) },
                knockTimer = if (screen.stage == VisitStage.AT_DOOR) KnockTimerState.of(screen, now) else null,
                quote = screen.quote?.let { QuoteScreenState.of(it, lang) },
                reportDigestShort = screen.reportDigest?.short,
                signed = screen.signed,
                closedAs = screen.outcome?.label(lang),
            )
        }
    }
}

/** One line of the quote screen. */
data class QuoteRow(val item: String, val qty: UInt, val unitPrice: String, val amount: String, val coveredByWarranty: Boolean)

/** The quote screen: lines, totals, and which revision the customer accepts. */
data class QuoteScreenState(
    val revision: UInt,
    val rows: List<QuoteRow>,
    val customerTotal: String,
    val covered: String?,
    val customerTotalMinor: Long,
    val accepted: Boolean,
    val totalLabel: String,
) {
    companion object {
        fun of(q: QuoteSummary, lang: Language) = QuoteScreenState(
            revision = q.revision,
            rows = q.lines.map {
                QuoteRow(if (lang == Language.EN) it.name.en else it.name.zh, it.qty, Money.format(it.unitPrice, q.currency), Money.format(it.amount, q.currency), it.payer == "warranty")
            },
            customerTotal = Money.format(q.customerTotal, q.currency),
            covered = if (q.coveredTotal > 0) Money.format(q.coveredTotal, q.currency) else null,
            customerTotalMinor = q.customerTotal,
            accepted = q.accepted,
            totalLabel = if (lang == Language.EN) "Customer pays" else "客户应付",
        )
    }
}

/** The signature pad screen: the digest being signed and whether the strokes may be submitted. */
data class SignaturePadState(val reportDigestShort: String?, val strokeCount: Int, val canSubmit: Boolean, val consentText: String) {
    companion object {
        fun consentText(lang: Language): String = if (lang == Language.EN) {
            "I confirm the work and the amounts above."
        } else {
            "本人确认以上服务内容及金额。"
        }

        /** [preview] is the digest of what will be signed (ratings and consent included), once known. */
        fun of(screen: VisitScreen, capture: SignatureCapture, lang: Language, preview: ReportDigest? = null) = SignaturePadState(
            reportDigestShort = (preview ?: screen.reportDigest)?.short,
            strokeCount = capture.strokeCount,
            canSubmit = capture.isPlausible && screen.nextActions.any { it.command == "sign_off" },
            consentText = consentText(lang),
        )
    }
}

/**
 * The sync badge on every screen: one line of text, whether it is a
 * problem, and how many records wait. Reassures the technician that
 * offline work is safe; asks for action only when a retry will not help
 * (then the text is the core's, in the technician's language).
 */
data class SyncBadgeState(val text: String, val pending: Long, val problem: Boolean, val busy: Boolean) {
    companion object {
        /** The badge for the core loop's [state]; [pending] is the shell's freshest count of waiting records; times are the core's ([times]). */
        fun of(state: SyncServiceState, pending: Long, lang: Language, times: LocalTimes): SyncBadgeState {
            val en = lang == Language.EN
            fun at(i: Instant) = times.clockTime(i)
            val waiting = if (pending == 0L) "" else if (en) " · $pending waiting" else " · $pending 条待上传"
            return when (val phase = state.phase) {
                SyncPhase.Idle -> SyncBadgeState(if (en) "Not synced yet$waiting" else "尚未同步$waiting", pending, false, false)
                is SyncPhase.Syncing -> {
                    val p = phase.progress
                    val detail = when {
                        p == null -> ""
                        p.stage == app.doorstep.core.SyncStage.UPLOADING ->
                            if (en) " · sending, ${p.pending} left" else " · 正在上传，剩余 ${p.pending} 条"
                        else -> if (en) " · ${p.downloaded} updates received" else " · 已接收 ${p.downloaded} 条更新"
                    }
                    SyncBadgeState((if (en) "Syncing" else "同步中") + detail, pending, false, true)
                }
                is SyncPhase.Synced -> {
                    val synced = state.lastSuccessAt?.let(::at) ?: ""
                    SyncBadgeState((if (en) "Synced at $synced" else "已同步 $synced") + waiting, pending, false, false)
                }
                is SyncPhase.Retrying -> SyncBadgeState(
                    (if (en) "Offline work is safe; retrying at ${at(phase.retryAt)}" else "记录已保存在手机上，${at(phase.retryAt)} 自动重试") + waiting,
                    pending, false, false,
                )
                is SyncPhase.NeedsAttention ->
                    SyncBadgeState(if (en) phase.failure.en else phase.failure.zh, pending, true, false)
                SyncPhase.Offline -> SyncBadgeState(
                    (if (en) "Offline: records are kept on the phone" else "离线：记录保存在手机上") + waiting, pending, false, false,
                )
                SyncPhase.Stopped -> SyncBadgeState(if (en) "Sync stopped$waiting" else "同步已停止$waiting", pending, false, false)
            }
        }

        /** The badge with the loop's own count of waiting records. */
        fun of(state: SyncServiceState, lang: Language, times: LocalTimes): SyncBadgeState =
            of(state, state.pending.toLong(), lang, times)
    }
}
