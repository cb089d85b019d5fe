package leakcheck

import "fmt"

// A goroutine parked in a function is counted by the function's name
// until it returns.
func ExampleCount() {
	stop, started := make(chan struct{}), make(chan struct{})
	go parked(stop, started)
	<-started
	fmt.Println(Count("github.com/opencarkey/sdk/internal/leakcheck.parked"))
	close(stop)
	// Output: 1
}
