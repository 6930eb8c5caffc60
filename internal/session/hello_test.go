package session

import (
	"errors"
	"strings"
	"testing"

	"github.com/sodp-go/client/internal/wire"
)

func TestHelloProblems(t *testing.T) {
	decodeErr := errors.New("decode error")
	cases := []struct {
		name        string
		h           *wire.Hello
		err         error
		fatal, note string // what the error must contain; "" for none
	}{
		{"clean", &wire.Hello{Version: "1.0"}, nil, "", ""},
		{"no body", nil, nil, "without a body", ""},
		{"unreadable", nil, decodeErr, "cannot be read", ""},
		{"auth", &wire.Hello{Mistyped: []string{"server_id", "auth"}}, decodeErr, `"auth" is not a bool`, ""},
		{"server_id", &wire.Hello{ServerID: "42", Mistyped: []string{"server_id"}}, decodeErr, "", `server_id taken as "42"`},
		{"capabilities and server", &wire.Hello{Mistyped: []string{"server", "capabilities"}}, decodeErr, "", "server ignored, capabilities ignored"},
		{"another error", &wire.Hello{}, decodeErr, "cannot be read", ""},
	}
	for _, c := range cases {
		fatal, note := helloProblems(c.h, c.err)
		for _, e := range []struct {
			err  error
			want string
		}{{fatal, c.fatal}, {note, c.note}} {
			switch {
			case e.want == "" && e.err != nil:
				t.Errorf("%s: unexpected %v", c.name, e.err)
			case e.want != "" && (e.err == nil || !errors.Is(e.err, ErrProtocol) || !strings.Contains(e.err.Error(), e.want)):
				t.Errorf("%s: %v, want a protocol error with %q", c.name, e.err, e.want)
			case e.err != nil && c.err != nil && !errors.Is(e.err, c.err):
				t.Errorf("%s: %v does not wrap the decode error", c.name, e.err)
			}
		}
	}
}
