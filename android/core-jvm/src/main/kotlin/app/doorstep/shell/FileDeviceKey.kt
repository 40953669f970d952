package app.doorstep.shell

import app.doorstep.core.DeviceKeyFailure
import app.doorstep.core.DeviceKeyHolder
import java.io.File
import java.nio.file.Files
import java.nio.file.attribute.PosixFilePermission
import java.security.KeyFactory
import java.security.KeyPair
import java.security.KeyPairGenerator
import java.security.Signature
import java.security.spec.ECGenParameterSpec
import java.security.spec.PKCS8EncodedKeySpec
import java.security.spec.X509EncodedKeySpec
import java.util.Base64

/**
 * The phone's device key kept in a file beside the store: what the desktop
 * build and the JVM tests hold (the Android app keeps its key in the
 * Keystore, `AndroidKeystoreDeviceKey`; iOS in the Keychain). An ECDSA
 * P-256 key pair made on first use, its PKCS#8 private and X.509 public
 * encodings in Base64, one a line, readable by the owner only. Signs with
 * "SHA256withECDSA" (DER), as the core verifies.
 */
class FileDeviceKey(private val file: File) : DeviceKeyHolder {
    private val pair: KeyPair by lazy { read() ?: create() }

    override fun publicKey(): ByteArray = keystore { pair.public.encoded }

    override fun sign(message: ByteArray): ByteArray = keystore {
        Signature.getInstance("SHA256withECDSA").run {
            initSign(pair.private)
            update(message)
            sign()
        }
    }

    private fun <T> keystore(block: () -> T): T = try {
        block()
    } catch (e: DeviceKeyFailure) {
        throw e
    } catch (e: Exception) {
        throw DeviceKeyFailure.Keystore("${file.path}: ${e.message ?: e.javaClass.simpleName}")
    }

    private fun read(): KeyPair? {
        if (!file.exists()) return null
        val (private, public) = file.readLines().map { Base64.getDecoder().decode(it.trim()) }
        val ec = KeyFactory.getInstance("EC")
        return KeyPair(ec.generatePublic(X509EncodedKeySpec(public)), ec.generatePrivate(PKCS8EncodedKeySpec(private)))
    }

    private fun create(): KeyPair {
        val pair = KeyPairGenerator.getInstance("EC").run {
            initialize(ECGenParameterSpec("secp256r1"))
            generateKeyPair()
        }
        file.parentFile?.mkdirs()
        val written = File(file.path + ".new")
        written.writeText("")
        runCatching {
            Files.setPosixFilePermissions(written.toPath(), setOf(PosixFilePermission.OWNER_READ, PosixFilePermission.OWNER_WRITE))
        }
        val b64 = Base64.getEncoder()
        written.writeText(b64.encodeToString(pair.private.encoded) + "\n" + b64.encodeToString(pair.public.encoded) + "\n")
        check(written.renameTo(file)) { "could not keep the device key at $file" }
        return pair
    }
}
