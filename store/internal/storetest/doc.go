// Package storetest checks that a store implementation behaves as package
// store documents: atomic batches, Get, prefix Scan in byte order, limits,
// Close. The tests of store.Memory and store/bolt run it.
package storetest
