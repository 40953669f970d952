-- Version 25: each device's discount secret (32 random bytes, hex), issued
-- at enrolment, under which the center's offline discount short codes are
-- the HMAC of work order and amount (STANDARDS §2.12; core
-- `discount_approval`). A device enrolled before this version has none:
-- its technician's discounts are approved online only. The server keeps the
-- secret itself (it computes the codes); the phone keeps its copy in
-- Android Keystore / the iOS Keychain.
ALTER TABLE devices ADD COLUMN discount_secret TEXT;
