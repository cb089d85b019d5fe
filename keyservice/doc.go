// Package keyservice is the key service of the Digital Key system
// (docs/protocol.md §6.3, §6.5, §7): the relay that carries sealed invitations
// and signing requests between phones, key tracking (signed receipts and a
// key inventory per vehicle), and key commands (suspend, resume, terminate)
// that reach a vehicle over its telematics link, and a device, without
// waiting for the owner's next tap. It is an http.Handler over a Store:
// keyservice/boltstore for one machine (one bbolt file), keyservice/pgstore
// for many instances on one PostgreSQL database. keyservice/client is its
// HTTP client, which implements sharing.Relay and sharing.KeyServer and
// runs the command loop of a vehicle or device; cmd/dkserver is the
// program.
//
// The package does not log: Hooks report refusals and commands, and
// cmd/dkserver logs them with log/slog.
//
// # API
//
// Paths are versioned (/v1). Bodies are CBOR (RFC 8949, application/cbor):
// maps with integer keys in Core Deterministic Encoding, decoded strictly,
// as every format of the project (the CDDL of each is at its type); sealed
// relay content is application/octet-stream, receipts and termination
// attestations application/cose. Every refusal is a typed error body in
// JSON, application/problem+json (RFC 9457) with a stable "code" (Error,
// Code). CBOR because the payloads are the project's CBOR formats and
// binary (sealed messages up to 16 KiB, COSE statements, keys), which JSON
// would carry in base64, and because the strict decoder the project
// already has refuses duplicate keys, indefinite lengths and any second
// encoding of a value, which encoding/json does not; errors in JSON
// because they are for people and logs as much as for programs.
//
//	GET    /v1/health                               the store answers (JSON)
//
//	POST   /v1/relay/mailboxes                      device   MailboxRequest → MailboxCreated
//	GET    /v1/relay/mailboxes/{id}/display         token    display information
//	POST   /v1/relay/mailboxes/{id}/fetch           fetch token, once → Fetched
//	GET    /v1/relay/mailboxes/{id}/content         token    the other party's latest content (204 when none)
//	PUT    /v1/relay/mailboxes/{id}/content         token    the party's content
//	DELETE /v1/relay/mailboxes/{id}                 token
//
//	POST   /v1/keys                                 device   TrackKeyRequest → receipt
//	PUT    /v1/vehicles/{vehicle}/keys              vehicle  its keys (MarshalReport)
//	GET    /v1/vehicles/{vehicle}/keys              vehicle, or a key that manages it → KeyList
//
//	POST   /v1/commands                             device   sharing.SignedCommand → Accepted
//	POST   /v1/vehicles/{vehicle}/terminations      anyone   termination attestation → Accepted
//	POST   /v1/devices/{device}/state               device   DeviceStateRequest → Count (lost mode)
//	GET    /v1/vehicles/{vehicle}/commands?wait=S   vehicle  long poll → deliveries
//	POST   /v1/vehicles/{vehicle}/commands/ack      vehicle  Ack
//	GET    /v1/devices/{device}/commands?wait=S     device   long poll → deliveries
//	POST   /v1/devices/{device}/commands/ack        device   Ack
//
// Limits: each endpoint has a body limit (a refusal with 413 too_large,
// whether the body declares its length or not); HTTPServer sets header and
// body read timeouts, a write timeout that allows the longest long poll
// (Config.MaxWait), and idle timeouts; a device has at most
// Config.MaxMailboxesPerDevice mailboxes; a vehicle's inventory at most
// MaxInventoryKeys keys; a delivery at most MaxDeliveries commands.
//
// # Authentication
//
// Clients present TLS client certificates of the Digital Key PKI
// (docs/protocol.md §10): a device its endpoint chain ([H] → [E] (→ [F]) →
// Device OEM root), with the endpoint key, which its secure element holds;
// a vehicle its vehicle chain ([K] (→ [8] → [J]/[M]) → Vehicle OEM root).
// CCC certificates carry critical private extensions that crypto/x509
// refuses, so the TLS configuration (TLSConfig) requests a certificate
// without verifying it, and a verification callback per connection
// verifies the chain with package cert and records who the client is; a
// chain that does not verify fails no handshake, but every request that
// needs a certificate is refused with 401 unauthenticated, in a typed body,
// and reported to the hooks. The relay's token endpoints, terminations and
// the health check need no certificate: a friend's device has no key yet
// when it fetches an invitation, and a key that deleted itself may have
// been its device's last.
//
// A device is the key of its endpoint certificate: the vehicle and the key
// slot its extension binds, and its device identity (sharing.DeviceID, the
// instance CA's key). The vehicle identifier is not in the [K] certificate's
// CCC extension (docs/protocol.md §10.2 gives it a version only): the project
// puts it in the subject's serialNumber attribute, in hexadecimal
// (VehicleName); the Vehicle OEM CA that issues [K] is the automaker's,
// who also runs this service.
//
// # Who may do what
//
//   - A vehicle reads and acknowledges its own queue, reports its own keys,
//     reads its own inventory. It is the authority on which keys it has
//     enrolled, with which role and profile: the inventory takes them from
//     its reports, and a key it stops reporting it has removed.
//   - A device registers (tracks) the key of its own certificate, and gets
//     a signed receipt (attest.TrackingReceipt) for the vehicle; reads its
//     own queue; suspends or resumes every key of its own device (lost
//     mode, one command per key, retried idempotently under a request
//     identifier).
//   - A command (sharing.SignedCommand) is signed by a key of the
//     vehicle's inventory that the vehicle reported and that is active:
//     the key itself (a key suspends or terminates itself, never resumes
//     itself), or a key holding dkey.EntitleManage; an owner key is
//     managed by owner keys only, so a friend, even one entitled to
//     manage, cannot suspend or terminate the owner. A termination also
//     carries its termination attestation, which must verify against the
//     inventory as the vehicle verifies it. The TLS client is only
//     authenticated; the signature is the authority, so a Device OEM's
//     server may relay the owner's commands.
//   - A termination attestation alone (POST .../terminations) is its own
//     authority, under the same rules, filed under its attestation ID.
//   - An owner's device (a key that manages the vehicle) reads the
//     inventory; a friend's does not.
//
// A command ID accepted once is refused again (409 duplicate): a replay,
// or a client's retry, which the client takes as success. A signed command
// older than Config.MaxCommandAge, or dated more than five minutes ahead,
// is refused (409 stale), and IDs are kept longer than that.
//
// # Commands: durable, delivered, acknowledged, idempotent
//
// A command is accepted in one store transaction with everything it does:
// the inventory's new state for the key (marked pending until the vehicle
// reports it applied), the command record, and an entry in the vehicle's
// queue and, when the key is tracked, its device's; the 202 answer comes
// after the commit. A recipient waits by long poll (GET .../commands?wait=S,
// answered as soon as its queue holds a command, or empty after the wait);
// the server learns of new commands from the store (Store.Subscribe: in
// process for bbolt, LISTEN/NOTIFY across instances for PostgreSQL), and
// reads the queue again every Config.PollInterval in case a notification
// was lost. Deliveries are in queue order; the recipient applies them in
// order and acknowledges through the last one it applied or refused, after
// the apply returned; a command it refused is acknowledged with the reason,
// which the hooks report. Until acknowledged, a command is delivered again,
// on any instance: at least once. It is applied with the effect of once:
// the vehicle's apply is idempotent (a state set again, a termination
// recorded again), the client's loop does not apply again what it applied
// and could not acknowledge, and queue order means a command applied again
// is followed again by every later one.
//
// # Where the project chose
//
//   - The CCC server interfaces are not public (docs/protocol.md §6.5 names
//     trackKey and manageKey of [APIFOX], no formats); the paths, bodies,
//     the signed command and the inventory report are the project's.
//   - The vehicle identifier of a vehicle certificate is its subject's
//     serialNumber (above).
//   - The relay hands an invitation out once, to the fetch token of the
//     link (sharing.Fragment), and deletes it then; CCC's relay lets the
//     receiver read without any token (docs/protocol.md §6.3), which is what
//     allowed offline guessing of activation codes (security review,
//     finding 5).
//   - Tokens are stored as SHA-256 hashes.
//   - Suspensions and resumptions need a signed command, not only an
//     authenticated TLS connection.
package keyservice
