package vehicle

import (
	"fmt"
	"slices"

	"github.com/opencarkey/sdk/dkey"
	"github.com/opencarkey/sdk/mdoc"
)

// Reader provisioning in the shape of the Matter Door Lock cluster (Matter
// 1.4 Application Cluster Specification §5.2, the ALIRO and ALBU features;
// I: the cluster model of project-chip/matter.js
// packages/model/src/standard/elements/DoorLock.ts and the delegate of
// project-chip/connectedhomeip src/app/clusters/door-lock-server, which
// carry the specification's text and identifiers), so that a Matter
// controller can configure a lock built on the SDK. The mapping:
//
//	cluster                                              AliroLock
//	attribute 0x0080 AliroReaderVerificationKey (65, null) AliroAttributes().ReaderVerificationKey
//	attribute 0x0081 AliroReaderGroupIdentifier (16, null) .ReaderGroupIdentifier
//	attribute 0x0082 AliroReaderGroupSubIdentifier (16)    .ReaderGroupSubIdentifier (drawn once, fixed)
//	attribute 0x0083 AliroExpeditedTransactionSupported-   .ExpeditedVersions (2 bytes each,
//	                 ProtocolVersions                        AliroLockConfig.Versions)
//	attribute 0x0084 AliroGroupResolvingKey (16, null)     .GroupResolvingKey
//	attribute 0x0087 NumberOfAliroCredentialIssuer-        .CredentialIssuerKeysSupported
//	                 KeysSupported                          (AliroLockConfig.MaxIssuerKeys)
//	attribute 0x0088 NumberOfAliroEndpointKeysSupported    .EndpointKeysSupported (MaxEndpointKeys)
//	command 0x28 SetAliroReaderConfig(SigningKey 32,       SetAliroReaderConfig(AliroReaderConfig)
//	    VerificationKey 65, GroupIdentifier 16,
//	    GroupResolvingKey 16 [ALBU])
//	command 0x29 ClearAliroReaderConfig                    ClearAliroReaderConfig()
//	command 0x22 SetCredential(OperationType, Credential,  SetCredential(op, AliroCredential, data, user)
//	    CredentialData, UserIndex, UserStatus, UserType)     → next free index
//	command 0x24 GetCredentialStatus(Credential)           GetCredentialStatus(AliroCredential)
//	command 0x26 ClearCredential(Credential, nullable)     ClearCredential(*AliroCredential)
//	CredentialTypeEnum 6 AliroCredentialIssuerKey,         AliroIssuerKey, AliroEvictableEndpointKey,
//	    7 AliroEvictableEndpointKey,                        AliroNonEvictableEndpointKey
//	    8 AliroNonEvictableEndpointKey
//
// Status codes: SUCCESS is a nil error; INVALID_COMMAND ErrInvalidCredential
// or ErrCredentialNotFound (a Modify of an empty index); OCCUPIED
// ErrCredentialOccupied; DUPLICATE ErrCredentialDuplicate;
// RESOURCE_EXHAUSTED ErrCredentialsFull; INVALID_IN_STATE
// ErrAliroConfigured (a configuration over a configuration).
//
// What the cluster text says and the lock does (§5.2.6.9): credentials of
// the three types are 65-byte uncompressed P-256 keys (SEC 1 §2.3.3); an
// AliroCredentialIssuerKey never opens the lock itself: in the step-up
// phase the lock requests the data element "matter1" and, when it comes
// back in an access document the issuer key validates, adds the endpoint
// key as an AliroEvictableEndpointKey of the issuer's user, evicting
// another evictable key of that user when the endpoint keys are full, and
// adding none when there is none to evict. ClearAliroReaderConfig
// revokes every device that knew the old verification key
// (§5.2.10.43): the lock forgets every Kpersistent with it.
//
// Where the project chose: users are not modelled (SetUser and its
// schedules are out of scope): UserIndex is a label kept with each
// credential, 1 to 65534, and UserStatus and UserType are not taken; a
// controller's endpoint key opens the lock at any time, the schedules of
// a learned key's access data apply to it. The signing key must be the
// verification key's private half. Clearing an empty index is a success.
// Clearing an issuer key removes the endpoint keys it admitted.

// AliroCredentialType is the cluster's CredentialTypeEnum, restricted to
// the Aliro types.
type AliroCredentialType uint8

// The Aliro credential types (Matter Door Lock CredentialTypeEnum).
const (
	AliroIssuerKey               AliroCredentialType = 6
	AliroEvictableEndpointKey    AliroCredentialType = 7
	AliroNonEvictableEndpointKey AliroCredentialType = 8
)

// String returns the cluster's name of t.
func (t AliroCredentialType) String() string {
	switch t {
	case AliroIssuerKey:
		return "AliroCredentialIssuerKey"
	case AliroEvictableEndpointKey:
		return "AliroEvictableEndpointKey"
	case AliroNonEvictableEndpointKey:
		return "AliroNonEvictableEndpointKey"
	}
	return fmt.Sprintf("AliroCredentialType(%d)", uint8(t))
}

// AliroCredential is the cluster's CredentialStruct: a type and an index,
// 1 to the number the lock supports; AliroAllIndices in ClearCredential
// names every credential of the type.
type AliroCredential struct {
	Type  AliroCredentialType
	Index uint16
}

// AliroAllIndices is the credential index that names all (0xFFFE).
const AliroAllIndices uint16 = 0xFFFE

// DataOperation is the cluster's DataOperationTypeEnum.
type DataOperation uint8

// Data operations of SetCredential (Add and Modify; Clear is
// ClearCredential).
const (
	DataOperationAdd    DataOperation = 0
	DataOperationModify DataOperation = 2
)

// ErrCredentialsFull reports that the lock holds as many credentials of
// the kind as it supports (Matter RESOURCE_EXHAUSTED).
var ErrCredentialsFull = fmt.Errorf("vehicle: no free credential index")

// AliroReaderConfig is the content of the cluster's SetAliroReaderConfig.
type AliroReaderConfig struct {
	// SigningKey is the reader's private key: the 32-byte P-256 scalar.
	SigningKey []byte
	// VerificationKey is its public half, 65 bytes uncompressed.
	VerificationKey []byte
	// GroupIdentifier is the reader_group_identifier, 16 bytes.
	GroupIdentifier []byte
	// GroupResolvingKey is the 16-byte key of Bluetooth LE advertising
	// (feature ALBU); nil for none. An NFC lock keeps it and reports it.
	GroupResolvingKey []byte
}

// String describes the configuration without its signing key.
func (c AliroReaderConfig) String() string {
	return fmt.Sprintf("{SigningKey:[redacted] VerificationKey:%x GroupIdentifier:%x GroupResolvingKey:[redacted]}", c.VerificationKey, c.GroupIdentifier)
}

// GoString is String.
func (c AliroReaderConfig) GoString() string { return "vehicle.AliroReaderConfig" + c.String() }

// Format prints String for every verb.
func (c AliroReaderConfig) Format(f fmt.State, _ rune) { fmt.Fprint(f, c.String()) }

// SetAliroReaderConfig configures the reader: the key that signs its AUTH1
// and whose public half devices trust for the group, the group, and the
// group resolving key. A configured lock refuses it with
// ErrAliroConfigured (Matter INVALID_IN_STATE): clear first.
func (l *AliroLock) SetAliroReaderConfig(c AliroReaderConfig) error {
	if len(c.SigningKey) != 32 || len(c.VerificationKey) != 65 || len(c.GroupIdentifier) != dkey.ReaderGroupIDLen ||
		c.GroupResolvingKey != nil && len(c.GroupResolvingKey) != 16 {
		return fmt.Errorf("%w: reader configuration of %d, %d, %d and %d bytes", ErrInvalidCredential,
			len(c.SigningKey), len(c.VerificationKey), len(c.GroupIdentifier), len(c.GroupResolvingKey))
	}
	sk, err := dkey.NewSoftwareKey(c.SigningKey)
	if err != nil {
		return fmt.Errorf("%w: signing key: %w", ErrInvalidCredential, err)
	}
	vk, err := dkey.ParsePublicKey(c.VerificationKey)
	if err != nil || !vk.Equal(sk.PublicKey()) {
		return fmt.Errorf("%w: the verification key is not the signing key's", ErrInvalidCredential)
	}
	conf := &aliroReaderConf{signing: sk, verification: vk, group: dkey.ReaderGroupID(c.GroupIdentifier), grk: slices.Clone(c.GroupResolvingKey)}
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := l.usableLocked(); err != nil {
		return err
	}
	if l.conf != nil {
		return ErrAliroConfigured
	}
	r, err := l.buildReaderLocked(conf)
	if err != nil {
		return err
	}
	if err := l.writeLocked(l.endpoints, func(ops *aliroOps) error { return ops.config(conf) }); err != nil {
		return err
	}
	l.conf, l.reader = conf, r
	return nil
}

// ClearAliroReaderConfig removes the reader configuration: the lock no
// longer transacts, and every Kpersistent goes (devices must run a
// standard transaction with the next configuration). Credentials stay.
func (l *AliroLock) ClearAliroReaderConfig() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := l.usableLocked(); err != nil {
		return err
	}
	if l.conf == nil {
		return nil
	}
	err := l.writeLocked(l.endpoints, func(ops *aliroOps) error {
		ops.clearConfig()
		return ops.dropPersistent(l.endpoints)
	})
	if err != nil {
		return err
	}
	l.conf, l.reader = nil, nil
	for _, e := range l.endpoints {
		e.persistent.Zeroize()
	}
	return nil
}

// AliroAttributes are the cluster's Aliro attributes.
type AliroAttributes struct {
	// ReaderVerificationKey, ReaderGroupIdentifier and GroupResolvingKey
	// are nil before SetAliroReaderConfig (null).
	ReaderVerificationKey    []byte
	ReaderGroupIdentifier    []byte
	ReaderGroupSubIdentifier []byte
	// ExpeditedVersions are the versions of expedited transactions, 2
	// bytes each.
	ExpeditedVersions [][]byte
	// GroupResolvingKey is the key of Bluetooth LE advertising, a
	// secret: printing the attributes redacts it, as AliroReaderConfig
	// does.
	GroupResolvingKey             []byte
	CredentialIssuerKeysSupported uint16
	EndpointKeysSupported         uint16
}

// String describes the attributes without the group resolving key (whose
// presence it shows).
func (a AliroAttributes) String() string {
	grk := "null"
	if a.GroupResolvingKey != nil {
		grk = "[redacted]"
	}
	return fmt.Sprintf("{ReaderVerificationKey:%x ReaderGroupIdentifier:%x ReaderGroupSubIdentifier:%x ExpeditedVersions:%x GroupResolvingKey:%s CredentialIssuerKeysSupported:%d EndpointKeysSupported:%d}",
		a.ReaderVerificationKey, a.ReaderGroupIdentifier, a.ReaderGroupSubIdentifier, a.ExpeditedVersions, grk, a.CredentialIssuerKeysSupported, a.EndpointKeysSupported)
}

// GoString is String.
func (a AliroAttributes) GoString() string { return "vehicle.AliroAttributes" + a.String() }

// Format prints String for every verb.
func (a AliroAttributes) Format(f fmt.State, _ rune) { fmt.Fprint(f, a.String()) }

// AliroAttributes returns the values of the cluster's Aliro attributes.
func (l *AliroLock) AliroAttributes() AliroAttributes {
	l.mu.Lock()
	defer l.mu.Unlock()
	a := AliroAttributes{
		ReaderGroupSubIdentifier:      slices.Clone(l.sub[:]),
		CredentialIssuerKeysSupported: uint16(l.maxIssuers),
		EndpointKeysSupported:         uint16(l.maxKeys),
	}
	for i := range l.versions.Len() {
		a.ExpeditedVersions = append(a.ExpeditedVersions, l.versions.At(i).Append(nil))
	}
	if c := l.conf; c != nil {
		a.ReaderVerificationKey = c.verification.Bytes()
		a.ReaderGroupIdentifier = slices.Clone(c.group[:])
		a.GroupResolvingKey = slices.Clone(c.grk)
	}
	return a
}

// checkCredential validates a credential reference.
func (l *AliroLock) checkCredential(c AliroCredential, all bool) error {
	limit := l.maxKeys
	switch c.Type {
	case AliroIssuerKey:
		limit = l.maxIssuers
	case AliroEvictableEndpointKey, AliroNonEvictableEndpointKey:
	default:
		return fmt.Errorf("%w: type %v", ErrInvalidCredential, c.Type)
	}
	if c.Index == 0 || int(c.Index) > limit && !(all && c.Index == AliroAllIndices) {
		return fmt.Errorf("%w: %v index %d out of 1 to %d", ErrInvalidCredential, c.Type, c.Index, limit)
	}
	return nil
}

// occupiedLocked reports whether c holds a credential.
func (l *AliroLock) occupiedLocked(c AliroCredential) bool {
	if c.Type == AliroIssuerKey {
		return l.issuerLocked(c.Index) != nil
	}
	return l.endpointAtLocked(c) != nil
}

func (l *AliroLock) endpointAtLocked(c AliroCredential) *aliroEndpoint {
	for _, e := range l.endpoints {
		if e.typ == c.Type && e.index == c.Index {
			return e
		}
	}
	return nil
}

// nextFreeLocked returns the first free index of type t after index, or 0
// (null) for none.
func (l *AliroLock) nextFreeLocked(t AliroCredentialType, after uint16) uint16 {
	limit := l.maxKeys
	if t == AliroIssuerKey {
		limit = l.maxIssuers
	} else if len(l.endpoints) >= l.maxKeys {
		return 0
	}
	for i := int(after) + 1; i <= limit; i++ {
		if !l.occupiedLocked(AliroCredential{Type: t, Index: uint16(i)}) {
			return uint16(i)
		}
	}
	return 0
}

// nextOccupiedLocked returns the first occupied index of type t after
// index, or 0.
func (l *AliroLock) nextOccupiedLocked(t AliroCredentialType, after uint16) uint16 {
	limit := l.maxKeys
	if t == AliroIssuerKey {
		limit = l.maxIssuers
	}
	for i := int(after) + 1; i <= limit; i++ {
		if l.occupiedLocked(AliroCredential{Type: t, Index: uint16(i)}) {
			return uint16(i)
		}
	}
	return 0
}

// SetCredential adds (DataOperationAdd) or replaces (DataOperationModify)
// the credential c of user with data, a 65-byte uncompressed P-256 key,
// and returns the next free index of the type (0 for none), as the
// cluster's SetCredentialResponse does. A modified credential loses its
// Kpersistent and what it learned.
func (l *AliroLock) SetCredential(op DataOperation, c AliroCredential, data []byte, user uint16) (uint16, error) {
	if err := l.checkCredential(c, false); err != nil {
		return 0, err
	}
	if op != DataOperationAdd && op != DataOperationModify {
		return 0, fmt.Errorf("%w: operation %d", ErrInvalidCredential, op)
	}
	if user == 0 || user == AliroAllIndices || user == 0xFFFF {
		return 0, fmt.Errorf("%w: user index %d", ErrInvalidCredential, user)
	}
	pub, err := dkey.ParsePublicKey(data)
	if err != nil {
		return 0, fmt.Errorf("%w: credential data: %w", ErrInvalidCredential, err)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := l.usableLocked(); err != nil {
		return 0, err
	}
	occupied := l.occupiedLocked(c)
	switch {
	case op == DataOperationAdd && occupied:
		return 0, ErrCredentialOccupied
	case op == DataOperationModify && !occupied:
		return 0, ErrCredentialNotFound
	case l.duplicateLocked(pub, c):
		return 0, ErrCredentialDuplicate
	case op == DataOperationAdd && c.Type != AliroIssuerKey && len(l.endpoints) >= l.maxKeys:
		return 0, ErrCredentialsFull
	}
	if c.Type == AliroIssuerKey {
		ik, err := mdoc.NewP256IssuerKey(pub)
		if err != nil {
			return 0, fmt.Errorf("%w: %w", ErrInvalidCredential, err)
		}
		is := &aliroIssuer{index: c.Index, user: user, pub: pub, key: ik}
		// A modified issuer starts a new revocation history; the keys
		// the old one admitted go.
		gone := l.admittedLocked(c.Index)
		err = l.writeLocked(withoutEndpoints(l.endpoints, gone), func(ops *aliroOps) error {
			for _, e := range gone {
				ops.deleteEndpoint(e)
			}
			return ops.issuer(is)
		})
		if err != nil {
			return 0, err
		}
		l.removeEndpointsLocked(gone)
		if old := l.issuerLocked(c.Index); old != nil {
			*old = *is
		} else {
			l.issuers = append(l.issuers, is)
			slices.SortFunc(l.issuers, func(a, b *aliroIssuer) int { return int(a.index) - int(b.index) })
		}
		return l.nextFreeLocked(c.Type, c.Index), nil
	}
	e := &aliroEndpoint{typ: c.Type, index: c.Index, user: user, pub: pub}
	eps := l.endpoints
	if !occupied {
		eps = append(slices.Clip(eps), e)
	}
	if err := l.writeLocked(eps, func(ops *aliroOps) error { return ops.endpoint(e) }); err != nil {
		return 0, err
	}
	if old := l.endpointAtLocked(c); old != nil {
		old.persistent.Zeroize()
		*old = *e
	} else {
		l.endpoints = append(l.endpoints, e)
	}
	return l.nextFreeLocked(c.Type, c.Index), nil
}

// duplicateLocked reports whether another credential than c holds pub.
func (l *AliroLock) duplicateLocked(pub *dkey.PublicKey, c AliroCredential) bool {
	for _, e := range l.endpoints {
		if e.pub.Equal(pub) && (e.typ != c.Type || e.index != c.Index) {
			return true
		}
	}
	for _, i := range l.issuers {
		if i.pub.Equal(pub) && (c.Type != AliroIssuerKey || i.index != c.Index) {
			return true
		}
	}
	return false
}

// admittedLocked returns the endpoint keys the issuer of index admitted.
func (l *AliroLock) admittedLocked(index uint16) []*aliroEndpoint {
	var out []*aliroEndpoint
	for _, e := range l.endpoints {
		if e.issuer == index {
			out = append(out, e)
		}
	}
	return out
}

// withoutEndpoints returns a copy of eps without those of gone.
func withoutEndpoints(eps, gone []*aliroEndpoint) []*aliroEndpoint {
	return slices.DeleteFunc(slices.Clone(eps), func(e *aliroEndpoint) bool { return slices.Contains(gone, e) })
}

// removeEndpointsLocked forgets gone, erasing their Kpersistent.
func (l *AliroLock) removeEndpointsLocked(gone []*aliroEndpoint) {
	for _, g := range gone {
		g.persistent.Zeroize()
	}
	l.endpoints = slices.DeleteFunc(l.endpoints, func(e *aliroEndpoint) bool { return slices.Contains(gone, e) })
}

// AliroCredentialStatus is the cluster's GetCredentialStatusResponse.
type AliroCredentialStatus struct {
	Exists bool
	User   uint16
	// NextIndex is the next occupied index of the type, 0 for none.
	NextIndex uint16
	// Data is the credential's key, 65 bytes uncompressed (the ALIRO
	// feature's CredentialData).
	Data []byte
}

// GetCredentialStatus returns the status of the credential c.
func (l *AliroLock) GetCredentialStatus(c AliroCredential) (AliroCredentialStatus, error) {
	if err := l.checkCredential(c, false); err != nil {
		return AliroCredentialStatus{}, err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	st := AliroCredentialStatus{NextIndex: l.nextOccupiedLocked(c.Type, c.Index)}
	if c.Type == AliroIssuerKey {
		if i := l.issuerLocked(c.Index); i != nil {
			st.Exists, st.User, st.Data = true, i.user, i.pub.Bytes()
		}
	} else if e := l.endpointAtLocked(c); e != nil {
		st.Exists, st.User, st.Data = true, e.user, e.pub.Bytes()
	}
	return st, nil
}

// ClearCredential removes the credential c, every credential of its type
// when its index is AliroAllIndices, or every Aliro credential when c is
// nil (the cluster's null). An issuer key goes with the endpoint keys it
// admitted and its revocations.
func (l *AliroLock) ClearCredential(c *AliroCredential) error {
	if c != nil {
		if err := l.checkCredential(*c, true); err != nil {
			return err
		}
	}
	match := func(t AliroCredentialType, index uint16) bool {
		return c == nil || c.Type == t && (c.Index == AliroAllIndices || c.Index == index)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := l.usableLocked(); err != nil {
		return err
	}
	var goneIssuers []*aliroIssuer
	var gone []*aliroEndpoint
	for _, is := range l.issuers {
		if match(AliroIssuerKey, is.index) {
			goneIssuers = append(goneIssuers, is)
		}
	}
	for _, e := range l.endpoints {
		if match(e.typ, e.index) || slices.ContainsFunc(goneIssuers, func(is *aliroIssuer) bool { return e.issuer == is.index }) {
			gone = append(gone, e)
		}
	}
	if len(gone)+len(goneIssuers) == 0 {
		return nil
	}
	err := l.writeLocked(withoutEndpoints(l.endpoints, gone), func(ops *aliroOps) error {
		for _, is := range goneIssuers {
			ops.deleteIssuer(is)
		}
		for _, e := range gone {
			ops.deleteEndpoint(e)
		}
		return nil
	})
	if err != nil {
		return err
	}
	l.removeEndpointsLocked(gone)
	l.issuers = slices.DeleteFunc(l.issuers, func(is *aliroIssuer) bool { return slices.Contains(goneIssuers, is) })
	return nil
}
