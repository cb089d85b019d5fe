module github.com/opencarkey/sdk/conformance

go 1.26.4

require (
	github.com/c2sp/wycheproof v0.0.0-20260902155932-3fa63dd0344a
	github.com/opencarkey/sdk v0.0.0
)

require (
	filippo.io/nistec v0.0.4 // indirect
	golang.org/x/sys v0.50.0 // indirect
)

// The conformance tests test this tree, not a published version.
replace github.com/opencarkey/sdk => ../
