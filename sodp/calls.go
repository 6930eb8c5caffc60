package sodp

import (
	"context"
	"errors"
	"fmt"
	"math"

	"github.com/sodp-go/client/internal/session"
)

// Call invokes a server method and returns the RESULT's data (nil when the
// server sent none). It waits for the session to be live if it is not, and
// for the answer, bounded by ctx; without a deadline in ctx the call
// timeout applies (WithCallTimeout, default 30 s).
//
// Errors: a *ServerError when the server refused the call (whether it sent
// RESULT success:false or an ERROR frame); ErrConnectionLost when the
// connection dropped before the answer (the call may or may not have been
// applied — except when the server closed the connection because a message
// was too big (close 1009): a call whose frame was that message or came
// after it was not read, and its error, matching ErrTooLarge too, says it
// was not applied); ErrTooLarge when the call encodes over the message size limit
// and ErrUnsupportedValue when an argument has no encoding (see Set; the
// error's path starts with the argument's name), nothing being sent then;
// ErrClosed after Close; ctx's error, wrapped (a call ended by
// WithCallTimeout says so).
func (c *Client) Call(ctx context.Context, method string, args map[string]any) (any, error) {
	if err := checkCall(ctx, c, method); err != nil {
		return nil, err
	}
	enc, err := encodeMap("call "+method, args)
	if err != nil {
		return nil, err
	}
	data, err := c.call(ctx, session.CallSpec{Method: method, Args: enc})
	if err != nil {
		return nil, err
	}
	return copyTree(data), nil
}

func checkCall(ctx context.Context, c *Client, method string) error {
	if ctx == nil {
		return fmt.Errorf("sodp: %s: nil context", method)
	}
	if c == nil {
		return fmt.Errorf("%w: nil client", ErrClosed)
	}
	if method == "" {
		return errors.New("sodp: call: empty method name")
	}
	return nil
}

// write runs one built-in state method and returns the version the
// server assigned. The session builds its request; the caller has
// checked and encoded its value.
func (c *Client) write(ctx context.Context, sc session.StateCall) (uint64, error) {
	method := sc.Op.Method()
	if err := checkCall(ctx, c, method); err != nil {
		return 0, err
	}
	if err := session.ValidKey(sc.Key); err != nil {
		return 0, err
	}
	data, err := c.call(ctx, session.CallSpec{Method: method, Key: sc.Key, State: &sc})
	if err != nil {
		return 0, err
	}
	return versionOf(data), nil
}

// versionOf reads {version} from a RESULT's data; 0 when it is absent.
func versionOf(data any) uint64 {
	m, ok := data.(map[string]any)
	if !ok {
		return 0
	}
	switch v := m["version"].(type) {
	case int64:
		if v > 0 {
			return uint64(v)
		}
	case uint64:
		return v
	case float64:
		if v > 0 && v < math.MaxUint64 {
			return uint64(v)
		}
	}
	return 0
}

// Set replaces the whole value of key (state.set) and returns the new
// version, or 0 when the server does not say (the TypeScript server never
// does) or assigned none (the Go server, for a write that leaves the value
// as it was; no update is delivered then).
//
// value is encoded by the same rules Watch decodes with, so a value Set
// is read back equal by Watch[T] of its type:
//
//   - a struct becomes a map. Each exported field is named by its
//     `msgpack` tag, else its `json` tag, else the field's name; a tag
//     of "-" leaves the field out (it is never sent); omitempty leaves
//     the field out when it is false, 0, nil, or an empty string, slice,
//     array or map. Fields of embedded structs are promoted as
//     encoding/json does; a nil embedded pointer contributes nothing.
//   - a type that implements json.Marshaler (json.RawMessage, for one)
//     becomes the value its JSON stands for (a number written without
//     fraction or exponent an integer, any other a float); it is
//     preferred to encoding.TextMarshaler, as in encoding/json.
//   - a type that implements encoding.TextMarshaler (time.Time, for one)
//     becomes the string MarshalText returns.
//   - time.Duration, an integer, is sent as its number of nanoseconds.
//   - pointers and interfaces become what they point to; nil becomes nil.
//   - []byte becomes MessagePack bin; other slices and arrays become
//     arrays; a map needs string, integer or encoding.TextMarshaler keys.
//
// A value with no encoding (a cycle, a channel, a function, a complex
// number, a NaN or infinite float, another map key type) fails at once
// with an error matching ErrUnsupportedValue that names the offending
// element's path; a malformed key fails with ErrInvalidKey. Nothing is
// sent then. Other errors are as for Call.
func (c *Client) Set(ctx context.Context, key string, value any) (uint64, error) {
	v, err := encodeValue("set "+key, "", value)
	if err != nil {
		return 0, err
	}
	return c.write(ctx, session.StateCall{Op: session.OpSet, Key: key, Value: v})
}

// Patch merges the fields of patch into the value of key (state.patch) and
// returns the new version (0 when the server does not say). The spec and
// most servers merge top-level fields only; the Rust server merges deeply.
//
// patch is a map or a struct, encoded as for Set: every entry of a map is
// sent; of a struct, every field Set would send, zero values included,
// except the fields tagged "-" and the empty fields tagged omitempty. A
// struct whose fields all carry omitempty thus patches exactly the
// fields that are set. Errors are as for Set.
func (c *Client) Patch(ctx context.Context, key string, patch any) (uint64, error) {
	p, err := encodeValue("patch "+key, "", patch)
	if err != nil {
		return 0, err
	}
	return c.write(ctx, session.StateCall{Op: session.OpPatch, Key: key, Value: p})
}

// SetIn sets one nested location of key's value (state.set_in), creating
// parents, and returns the new version. path is a JSON Pointer ("/a/b",
// with ~1 for / and ~0 for ~). For the Go server, which takes dotted paths,
// the pointer is translated; a pointer it cannot express (a segment with
// ".", "/" or "~", or the root) fails locally with ErrInvalidPath.
func (c *Client) SetIn(ctx context.Context, key, path string, value any) (uint64, error) {
	if len(path) == 0 || path[0] != '/' {
		return 0, fmt.Errorf("%w %q: a JSON Pointer starts with /", ErrInvalidPath, path)
	}
	v, err := encodeValue("set_in "+key, "", value)
	if err != nil {
		return 0, err
	}
	return c.write(ctx, session.StateCall{Op: session.OpSetIn, Key: key, Path: path, Value: v})
}

// Delete deletes key (state.delete): watchers see it uninitialized with a
// nil value. It returns the new version, and forgets this client's
// presence entries under key.
func (c *Client) Delete(ctx context.Context, key string) (uint64, error) {
	return c.write(ctx, session.StateCall{Op: session.OpDelete, Key: key})
}

// Presence sets path in key's value for as long as this client's session
// lasts (state.presence): the server removes it when the connection ends
// and tells every watcher. The client remembers the entry and sends it
// again after every reconnect, until Presence is called with a nil value
// for the same path (which also writes nil there), Delete deletes the key,
// or the client closes. On a server without presence (the Go server) it
// fails locally with ErrNotSupported.
func (c *Client) Presence(ctx context.Context, key, path string, value any) (uint64, error) {
	if len(path) == 0 || path[0] != '/' {
		return 0, fmt.Errorf("%w %q: a JSON Pointer starts with /", ErrInvalidPath, path)
	}
	v, err := encodeValue("presence "+key, "", value)
	if err != nil {
		return 0, err
	}
	return c.write(ctx, session.StateCall{Op: session.OpPresence, Key: key, Path: path, Value: v})
}
