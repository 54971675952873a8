# govern's least-privilege Vault / OpenBao policy (docs/operations/vault.md).
# Written for the defaults: KV v2 at secret/ (GOVERN_VAULT_MOUNT), Transit at transit/ (GOVERN_AUDIT_TRANSIT_MOUNT),
# the audit signing key govern-audit (GOVERN_AUDIT_TRANSIT_KEY) and the refresh-token key govern-refresh
# (GOVERN_VAULT_TRANSIT_KEY). Change the paths with the settings. The test suite runs every Vault-using test with
# exactly this file (tests/support/openbao.py).

# KV v2 data and metadata under secret/govern/ only
path "secret/data/govern/*" {
  capabilities = ["create", "read", "update"]
}
path "secret/metadata/govern/*" {
  capabilities = ["create", "update", "delete"]   # cas_required/max_versions on create; destroy on retire
}

# Audit checkpoints are signed by an Ed25519 Transit key that never leaves Vault.
# read: the public keys (verification); create/update: the key is made on first signing, and made again
# (a new key, audited and alerted) if Vault loses it (Transit checks a key's creation as "update");
# sign; rotate (`govern audit rotate-key`). Deleting the key or changing its configuration is not granted.
path "transit/keys/govern-audit" {
  capabilities = ["create", "read", "update"]
}
path "transit/sign/govern-audit" {
  capabilities = ["update"]
}
path "transit/keys/govern-audit/rotate" {
  capabilities = ["update"]
}

# Refresh tokens encrypted before they are written to KV: only with GOVERN_VAULT_TRANSIT_KEY=govern-refresh
path "transit/encrypt/govern-refresh" {
  capabilities = ["update"]
}
path "transit/decrypt/govern-refresh" {
  capabilities = ["update"]
}

# Wrapped hand-offs (sys/wrapping/wrap and unwrap are in Vault's default policy).
# Revoking an outstanding hand-off at offboarding uses its accessor; leave this out to rely on
# the hand-off's TTL (5 minutes at most) instead, since revoke-accessor can revoke any token.
path "auth/token/revoke-accessor" {
  capabilities = ["update"]
}
