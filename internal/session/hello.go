package session

// What a HELLO that does not read cleanly means for the connection. A
// HELLO that arrived is answered at once, one way or the other: the
// handshake never waits for its deadline because HELLO had a field of the
// wrong type.
//
// Per field:
//   - no body, or a body that is not a map: nothing can be read, not even
//     whether the server wants a token. The attempt fails with ErrProtocol.
//   - auth: whether the server requires AUTH. Read wrong, the session would
//     either send a token where none is asked for or wait for requests to
//     be refused; so an auth that is not a bool (or nil, or absent: false)
//     fails the attempt with ErrProtocol naming the field.
//   - protocol, version, server, server_id: descriptive (ServerInfo, the
//     recognition of the server, the server identity that decides whether
//     a key is resumed). A number or a bool is taken as its text (a
//     server_id 42 still identifies its server); anything else is ignored.
//   - capabilities: limits the server announces. Not a map: ignored, as if
//     absent.
// Whatever is taken or ignored is reported once per connection on Events
// (ErrProtocol naming each field), and the handshake goes on.

import (
	"fmt"
	"slices"
	"strings"

	"github.com/sodp-go/client/internal/wire"
)

// helloProblems tells what decoding a HELLO found: fatal when the
// connection attempt cannot go on, else note, nil when there is nothing to
// report.
func helloProblems(h *wire.Hello, err error) (fatal, note error) {
	switch {
	case h == nil && err == nil:
		return fmt.Errorf("%w: HELLO without a body: whether the server requires a token is unknown", ErrProtocol), nil
	case h == nil:
		return fmt.Errorf("%w: HELLO cannot be read, so whether the server requires a token is unknown: %w", ErrProtocol, err), nil
	case err == nil:
		return nil, nil
	case slices.Contains(h.Mistyped, "auth"):
		return fmt.Errorf(`%w: HELLO's "auth" is not a bool, so whether the server requires a token is unknown: %w`, ErrProtocol, err), nil
	case len(h.Mistyped) == 0:
		// Not a field of the wrong type: the error says what it is.
		return fmt.Errorf("%w: HELLO cannot be read: %w", ErrProtocol, err), nil
	}
	var done []string
	for _, name := range h.Mistyped {
		v := ""
		switch name {
		case "protocol":
			v = h.Protocol
		case "version":
			v = h.Version
		case "server":
			v = h.Server
		case "server_id":
			v = h.ServerID
		}
		if v != "" {
			done = append(done, fmt.Sprintf("%s taken as %q", name, v))
		} else {
			done = append(done, name+" ignored")
		}
	}
	return nil, fmt.Errorf("%w: HELLO has fields of the wrong type (%s; the session goes on): %w",
		ErrProtocol, strings.Join(done, ", "), err)
}
