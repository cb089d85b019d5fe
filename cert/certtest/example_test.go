package certtest_test

import (
	"fmt"
	"log"

	"github.com/opencarkey/sdk/cert"
	"github.com/opencarkey/sdk/cert/certtest"
)

// Example issues what a vehicle and a phone need for owner pairing: the
// vehicle's certificate and key, the phone's instance CA, and the roots
// each side trusts.
func Example() {
	pki, err := certtest.New()
	if err != nil {
		log.Fatal(err)
	}
	vehicleCert, _, err := pki.Vehicle("VIN00001") // vehicle.Config.Key, vehicle.PairingConfig.Certificates
	if err != nil {
		log.Fatal(err)
	}
	instanceCA, _, err := pki.InstanceCA("phone") // device.InstanceCA
	if err != nil {
		log.Fatal(err)
	}
	v, err := (&cert.Config{VehicleRoots: pki.VehicleRoots()}).VerifyVehicle([][]byte{vehicleCert.Raw})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(pki)
	fmt.Println(v.Chain[0].Subject.CommonName, "<-", v.Chain[len(v.Chain)-1].Subject.CommonName)
	fmt.Println(instanceCA.Subject.CommonName, "<-", instanceCA.Issuer.CommonName)
	// Output:
	// certtest.PKI{Device OEM Root, Vehicle OEM Root}
	// Vehicle VIN00001 <- Vehicle OEM Root
	// phone instance CA <- Device OEM Root
}
