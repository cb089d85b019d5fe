package statefile_test

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/opencarkey/sdk/dkey"
	"github.com/opencarkey/sdk/internal/statefile"
	"github.com/opencarkey/sdk/vehicle"
)

// A bench vehicle keeps its state and its long-term key in one state file,
// sealed under the key in the file beside it.
func Example() {
	dir, _ := os.MkdirTemp("", "statefile")
	defer os.RemoveAll(dir)
	for run := 1; run <= 2; run++ {
		f, err := statefile.Open(filepath.Join(dir, "car.db"), "")
		if err != nil {
			fmt.Println(err)
			return
		}
		key, created, _ := f.SigningKey("vehicle")
		vid, _ := dkey.NewVehicleID([]byte("VIN00001"))
		r, _ := vehicle.NewReader(&vehicle.Config{VehicleID: vid, Key: key, Store: f.Store, KEK: f.KEK})
		fmt.Printf("run %d: new state file %v, new vehicle key %v\n", run, f.Created, created)
		r.Close() // closes f.Store
	}
	// Output:
	// run 1: new state file true, new vehicle key true
	// run 2: new state file false, new vehicle key false
}
