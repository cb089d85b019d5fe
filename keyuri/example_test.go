package keyuri_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/opencarkey/sdk/dkey"
	"github.com/opencarkey/sdk/keyuri"
	"github.com/opencarkey/sdk/transaction"
)

// Example creates a vehicle key as a PEM file and gives it to a vehicle, as
// a bench would; "pkcs11:token=...;id=...;object=vehicle?pin-source=..."
// puts it in an HSM instead (built with -tags pkcs11).
func Example() {
	dir, _ := os.MkdirTemp("", "keyuri-example")
	defer os.RemoveAll(dir)
	uri := "softkms:path=" + filepath.Join(dir, "vehicle.pem")

	key, err := keyuri.Create(context.Background(), uri)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer key.Close()
	vid, _ := dkey.NewVehicleID([]byte("VIN00001"))
	v, err := transaction.NewVehicleParams(&transaction.VehicleConfig{VehicleID: vid, Key: key})
	fmt.Println(err, v.PublicKey().Equal(key.PublicKey()))

	_, err = keyuri.Create(context.Background(), uri)
	fmt.Println(err != nil)
	// Output:
	// <nil> true
	// true
}
