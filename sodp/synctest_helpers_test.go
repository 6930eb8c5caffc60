package sodp_test

import (
	"testing"

	"github.com/sodp-go/client/sodp"
	"github.com/sodp-go/client/sodp/sodptest"
)

// newPipeServer starts a test server reachable only in memory
// (sodptest.WithInMemory), for tests in a testing/synctest bubble, where
// every wait runs on the bubble's clock.
func newPipeServer(t testing.TB, opts ...sodptest.Option) *sodptest.Server {
	t.Helper()
	return newServer(t, append([]sodptest.Option{sodptest.WithInMemory()}, opts...)...)
}

// viaPipe makes a client reach srv (a newPipeServer) in memory.
func viaPipe(srv *sodptest.Server) sodp.Option {
	return sodp.WithNetDialContext(srv.DialContext)
}
