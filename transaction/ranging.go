package transaction

// TransactionIDSize is the size of the transaction identifier (AUTH0 tag
// 4C, docs/protocol.md §4.2).
const TransactionIDSize = txIDSize

// TransactionID returns the transaction identifier of the transaction in
// progress once the endpoint has read its AUTH0 command, and false before
// and after a failure. Release 3 names the URSK of a standard transaction
// by its last four bytes, the UWB_Session_Id (docs/protocol.md §8.4), under
// which the applet keeps it when the vehicle sends CREATE RANGING KEY.
func (s *EndpointSession) TransactionID() ([TransactionIDSize]byte, bool) {
	switch s.stage {
	case stageAuth0Req, stageAuth0, stageFast, stageStandard:
		return s.t.txID, true
	}
	return [TransactionIDSize]byte{}, false
}

// TransactionID returns the transaction identifier the vehicle drew at
// Start for the transaction in progress, and false before Start and after
// a failure. Release 3 names the URSK of a standard transaction by its
// last four bytes, the UWB_Session_Id (docs/protocol.md §8.4).
func (s *VehicleSession) TransactionID() ([TransactionIDSize]byte, bool) {
	switch s.stage {
	case stageIdle, stageFailed:
		return [TransactionIDSize]byte{}, false
	}
	return s.t.txID, true
}
