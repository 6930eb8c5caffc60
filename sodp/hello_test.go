package sodp_test

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/sodp-go/client/internal/wire"
	"github.com/sodp-go/client/sodp"
)

// A HELLO with a field of the wrong type is answered at once: Dial fails
// with ErrProtocol naming the field when the client cannot tell whether
// the server wants a token (auth, or no readable body), and otherwise
// goes live with what could be read and reports the field on Events. It
// used to wait for the handshake timeout and fail with "no HELLO".
//
// In a synctest bubble: the handshake timeout would pass on the bubble's
// clock, so a client that waits for it fails at once instead of hanging.
func TestHelloMistypedField(t *testing.T) {
	cases := []struct {
		name  string
		body  any // the HELLO body; a string is sent as the whole raw body
		field string
		fails bool
		check func(t *testing.T, info *sodp.ServerInfo)
	}{
		{name: "server_id number", body: map[string]any{"protocol": "sodp", "version": "1.0", "server_id": 42}, field: "server_id",
			check: func(t *testing.T, info *sodp.ServerInfo) {
				if info.Name != "42" || info.Dialect != sodp.DialectGo {
					t.Errorf("server info %+v, want the Go server named 42", info)
				}
			}},
		{name: "version number", body: map[string]any{"protocol": "sodp", "version": 1, "server": "x"}, field: "version",
			check: func(t *testing.T, info *sodp.ServerInfo) {
				if info.Version != "1" || info.Name != "x" {
					t.Errorf("server info %+v", info)
				}
			}},
		{name: "server array", body: map[string]any{"protocol": "sodp", "version": "1.0", "server": []any{1}}, field: "server",
			check: func(t *testing.T, info *sodp.ServerInfo) {
				if info.Name != "" || info.Dialect != sodp.DialectSpec {
					t.Errorf("server info %+v", info)
				}
			}},
		{name: "capabilities not a map", body: map[string]any{"protocol": "sodp", "version": "1.0", "capabilities": "all"}, field: "capabilities",
			check: func(t *testing.T, info *sodp.ServerInfo) {
				if info.Capabilities != nil || info.Version != "1.0" {
					t.Errorf("server info %+v", info)
				}
			}},
		{name: "auth string", body: map[string]any{"protocol": "sodp", "version": "1.0", "auth": "false"}, field: "auth", fails: true},
		{name: "auth number", body: map[string]any{"protocol": "sodp", "version": "1.0", "auth": 1}, field: "auth", fails: true},
		{name: "no body", body: nil, field: "body", fails: true},
		{name: "body not a map", body: "raw", field: "body", fails: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var hello []byte
				switch b := tc.body.(type) {
				case string:
					hello = []byte{0x94, byte(wire.TypeHello), 0, 1, 0xa3, 'r', 'a', 'w'}
				default:
					hello = frameBytes(t, wire.TypeHello, 0, b)
				}
				srv := newPipeRawServer(t, func(c net.Conn) {
					if _, err := acceptUpgrade(c, ""); err != nil {
						return
					}
					c.Write(wsMessage(hello))
					untilClosed(c)
				})
				ctx, cancel := context.WithTimeout(context.Background(), time.Hour)
				defer cancel()
				start := time.Now()
				c, err := sodp.Dial(ctx, srv.URL, viaRawPipe(srv), sodp.WithHandshakeTimeout(10*time.Minute), sodp.WithBackoff(time.Hour, time.Hour))
				if took := time.Since(start); took >= 10*time.Minute {
					t.Errorf("Dial returned after the handshake timeout: %v", err)
				}
				if tc.fails {
					if err == nil {
						c.Close()
						t.Fatal("Dial succeeded")
					}
					if !errors.Is(err, sodp.ErrProtocol) || !strings.Contains(err.Error(), tc.field) {
						t.Fatalf("Dial: %v, want a protocol error naming %s", err, tc.field)
					}
					return
				}
				if err != nil {
					t.Fatalf("Dial: %v", err)
				}
				defer c.Close()
				tc.check(t, c.Server())
				for ev := range c.Events() {
					if ev.Err != nil {
						if !errors.Is(ev.Err, sodp.ErrProtocol) || !strings.Contains(ev.Err.Error(), `"`+tc.field+`"`) {
							t.Fatalf("event %v, want a protocol error naming %q", ev.Err, tc.field)
						}
						break
					}
				}
			})
		})
	}
}
