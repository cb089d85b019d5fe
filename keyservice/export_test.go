package keyservice

// JanitorInterval exports janitorInterval to the tests.
var JanitorInterval = janitorInterval
