package ble_test

import (
	"context"
	"encoding/hex"
	"fmt"
	"log"

	"github.com/opencarkey/sdk/dkey"
	"github.com/opencarkey/sdk/transport"
	"github.com/opencarkey/sdk/transport/ble"
	"github.com/opencarkey/sdk/transport/transporttest"
)

// The spec's example of a DK message: the SELECT of the DK applet tunnelled
// to the device (docs/protocol.md §8.3).
func ExampleParseMessage() {
	sdu, _ := hex.DecodeString("010B001300A404000DA000000809434343444B41763100")
	m, err := ble.ParseMessage(sdu)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(m.Kind, m.Kind.Type(), len(m.Data), "bytes")
	cmd, _ := transport.ParseCommand(m.Data)
	fmt.Printf("INS %02X AID %X\n", cmd.INS, cmd.Data)
	// Output:
	// DK_APDU_RQ SE 19 bytes
	// INS A4 AID A000000809434343444B417631
}

// A vehicle's Tunnel is a transport.Transceiver: the device behind it
// serves a card (device.Applet in a real deployment) over the channel.
func ExampleTunnel() {
	card := transporttest.HandlerFunc(func(dst, cmd []byte) []byte {
		return transport.AppendResponse(dst, []byte("hello"), dkey.SWSuccess)
	})
	vehicleEnd, deviceEnd := ble.Pipe(0)
	defer vehicleEnd.Close()
	go ble.Serve(context.Background(), ble.NewChannel(deviceEnd, nil), card, nil)

	tunnel := ble.NewTunnel(ble.NewChannel(vehicleEnd, nil), nil)
	resp, err := tunnel.Transceive(context.Background(), nil, []byte{0x80, 0xCA, 0x00, 0x00, 0x00})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%q %X, interface byte %02X\n", resp[:len(resp)-2], resp[len(resp)-2:], tunnel.InterfaceByte())
	// Output: "hello" 9000, interface byte C3
}

// The vehicle's side of remote keyless entry checks the key's policy,
// challenges it once, and verifies its signature.
func ExampleRKEVehicle() {
	endpoint, _ := dkey.GenerateSoftwareKey()
	slot, _ := dkey.NewKeySlot([]byte{1, 2, 3, 4, 5, 6, 7, 8})
	vid, _ := dkey.NewVehicleID([]byte("VIN00001"))
	keys := oneKey{slot: slot, pub: endpoint.PublicKey()}
	veh, err := ble.NewRKEVehicle(&ble.RKEConfig{Keys: keys})
	if err != nil {
		log.Fatal(err)
	}
	phone := ble.NewRKEDevice(vid, &ble.CryptoRKESigner{Vehicle: vid, Signer: endpoint})

	req := ble.RKERequest{Function: ble.FunctionTrunkManual, Action: ble.ActionActivate}
	event, _ := phone.Request(req)
	data, _ := event.Append(nil)
	fmt.Printf("device: event %X\n", data)
	challenge, _ := veh.Challenge(slot, req)
	sig, _, _ := phone.Answer(challenge)
	grant, err := veh.Verify(challenge, sig)
	fmt.Println("vehicle:", grant.Request, err)
	_, err = veh.Verify(challenge, sig)
	fmt.Println("replay:", err)
	// Output:
	// device: event 057F700780020110810101
	// vehicle: 0110 (trunk (manual)): activate <nil>
	// replay: ble: RKE challenge already used
}

// oneKey is a vehicle with one active owner key.
type oneKey struct {
	slot dkey.KeySlot
	pub  *dkey.PublicKey
}

func (k oneKey) RKEKey(slot dkey.KeySlot) (*dkey.PublicKey, dkey.KeyState, dkey.AccessProfile, error) {
	if slot != k.slot {
		return nil, 0, dkey.AccessProfile{}, dkey.ErrUnknownKey
	}
	return k.pub, dkey.KeyActive, dkey.OwnerProfile(), nil
}
