package app.doorstep.shell

import app.doorstep.core.DiscountKeyFailure
import app.doorstep.core.DiscountKeyHolder

/**
 * Where the shell keeps the phone's discount secret (STANDARDS §2.12, 报价:
 * a discount needs the center's approval; offline, the center reads out a
 * short code the core checks under this secret). Enrolment issues it
 * (`Enrolment.discountSecret`, 64 hex digits); [DeviceSetup] imports it here
 * at once and forgets it, and gives every store it opens this holder. The
 * Android app keeps it in the Keystore (`AndroidKeystoreDiscountKey`), iOS
 * in the Keychain, the desktop build and the tests in a file
 * ([FileDiscountKey]). Nothing here logs, shows or returns the secret: only
 * its MAC leaves.
 */
interface DiscountKeyVault : DiscountKeyHolder {
    /** Keeps [secretHex] (as enrolment issued it), replacing any secret kept before. */
    fun keep(secretHex: String)

    /** Whether a secret is kept (a phone enrolled before discount secrets has none). */
    fun held(): Boolean

    /** Forgets the secret (a new enrolment that issued none: the old one is another enrolment's). */
    fun forget()
}

/** The 32 bytes of a discount secret issued as 64 hex digits; the message never repeats the secret. */
fun discountSecretBytes(secretHex: String): ByteArray {
    val hex = secretHex.trim()
    if (hex.length != 64 || hex.any { Character.digit(it, 16) < 0 }) {
        throw DiscountKeyFailure.Keystore("the discount secret is not 64 hex digits")
    }
    return ByteArray(32) { i -> ((Character.digit(hex[2 * i], 16) shl 4) or Character.digit(hex[2 * i + 1], 16)).toByte() }
}
