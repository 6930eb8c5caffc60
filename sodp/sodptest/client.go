package sodptest

import (
	"context"

	"github.com/sodp-go/client/sodp"
)

// ClientOptions returns the options a client needs to reach the server,
// like httptest.Server.Client for an HTTP server: for a server started
// WithInMemory, sodp.WithNetDialContext(s.DialContext), which connects
// over net.Pipe; none for a server on a socket, which its URL reaches. A
// client may take more options after these.
func (s *Server) ClientOptions() []sodp.Option {
	if _, ok := s.ln.(*PipeListener); ok {
		return []sodp.Option{sodp.WithNetDialContext(s.DialContext)}
	}
	return nil
}

// Dial connects a new client to the server and waits until its session is
// live: sodp.Dial(ctx, s.URL, opts...) with ClientOptions before opts. It
// works the same in memory (WithInMemory, inside a testing/synctest bubble
// too) and on a socket. The caller closes the client.
func (s *Server) Dial(ctx context.Context, opts ...sodp.Option) (*sodp.Client, error) {
	return sodp.Dial(ctx, s.URL, append(s.ClientOptions(), opts...)...)
}
