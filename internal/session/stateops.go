package session

import (
	"fmt"
	"strings"

	"github.com/sodp-go/client/internal/delta"
	"github.com/sodp-go/client/internal/wire"
)

// The built-in state methods. Every state.* request body is built here,
// from the key, the path and the value (already encoded by the caller),
// for the dialect of the server the request goes to: the Go server takes
// a dotted path for state.set_in and has no state.presence. What the
// session remembers of a successful one (presence entries) is here too.

// StateOp is one of the built-in state methods.
type StateOp uint8

// The state methods.
const (
	OpSet      StateOp = iota + 1 // state.set: Value replaces the value of Key
	OpPatch                       // state.patch: Value, a map, is merged into the value of Key
	OpSetIn                       // state.set_in: Value is set at Path, a JSON Pointer
	OpDelete                      // state.delete: Key is deleted; its presence entries are forgotten
	OpPresence                    // state.presence: Value is set at Path while the session lasts
)

// StateCall is one state.* request.
type StateCall struct {
	Op    StateOp
	Key   string
	Path  string // a JSON Pointer, for OpSetIn and OpPresence
	Value any    // encoded (see package convert), but for OpDelete
}

// stateMethod is how one state method is sent.
type stateMethod struct {
	name string
	// body builds the request's args for a server of dialect d.
	body func(d Dialect, c StateCall) (map[string]any, error)
	// perDialect tells that body depends on the dialect: it is built when
	// the call is sent, once the server is known.
	perDialect bool
	// done, when set, runs on the actor after a successful result.
	done func(s *Session, c StateCall)
}

var stateMethods = [...]stateMethod{
	OpSet: {name: "state.set", body: func(_ Dialect, c StateCall) (map[string]any, error) {
		return map[string]any{"state": c.Key, "value": c.Value}, nil
	}},
	OpPatch: {name: "state.patch", body: func(_ Dialect, c StateCall) (map[string]any, error) {
		return map[string]any{"state": c.Key, "patch": c.Value}, nil
	}},
	OpSetIn: {name: "state.set_in", perDialect: true, body: func(d Dialect, c StateCall) (map[string]any, error) {
		p, err := dialectPath(d, c.Path, "state.set_in")
		if err != nil {
			return nil, err
		}
		return map[string]any{"state": c.Key, "path": p, "value": c.Value}, nil
	}},
	OpDelete: {name: "state.delete", body: func(_ Dialect, c StateCall) (map[string]any, error) {
		return map[string]any{"state": c.Key}, nil
	}, done: func(s *Session, c StateCall) {
		delete(s.presence, c.Key)
		s.publishGauges()
	}},
	OpPresence: {name: "state.presence", perDialect: true, body: func(d Dialect, c StateCall) (map[string]any, error) {
		if !hasPresence(d) {
			return nil, fmt.Errorf("%w: state.presence (the Go SODP server has no presence)", ErrNotSupported)
		}
		return map[string]any{"state": c.Key, "path": c.Path, "value": c.Value}, nil
	}, done: func(s *Session, c StateCall) {
		s.rememberPresence(presenceEntry{Key: c.Key, Path: c.Path, Value: c.Value})
	}},
}

// valid reports whether op is one of the state methods.
func (op StateOp) valid() bool { return op > 0 && int(op) < len(stateMethods) }

// Method names the state method, "" for none.
func (op StateOp) Method() string {
	if !op.valid() {
		return ""
	}
	return stateMethods[op].name
}

// stateBody builds the args of c for a server of dialect d.
func stateBody(d Dialect, c StateCall) (map[string]any, error) {
	return stateMethods[c.Op].body(d, c)
}

// prepareState gives pc, the call of c, its body (or the function that
// builds it when it is sent) and what runs after a successful result.
func (s *Session) prepareState(pc *pendingCall, c StateCall) error {
	if !c.Op.valid() {
		return fmt.Errorf("sodp: call %s: unknown state method %d", pc.method, c.Op)
	}
	m := &stateMethods[c.Op]
	if m.perDialect {
		pc.adapt = func(d Dialect) (wire.Raw, error) {
			args, err := m.body(d, c)
			if err != nil {
				return nil, err
			}
			return s.encodeCall(pc.id, pc.method, args)
		}
	} else {
		args, err := m.body(DialectSpec, c)
		if err != nil {
			return err
		}
		if pc.body, err = s.encodeCall(pc.id, pc.method, args); err != nil {
			return err
		}
	}
	if m.done != nil {
		pc.onOK = func() { m.done(s, c) }
	}
	return nil
}

// dialectPath writes the JSON Pointer path as the server of dialect d
// takes it: the Go server takes a dotted path instead, which cannot name
// the whole value nor a segment with ".", "/" or "~".
func dialectPath(d Dialect, path, method string) (string, error) {
	if d != DialectGo {
		return path, nil
	}
	segs, err := delta.ParsePointer(path)
	if err != nil {
		return "", fmt.Errorf("%w %q: %w", ErrInvalidPath, path, err)
	}
	if len(segs) == 0 {
		return "", fmt.Errorf("%w %q: %s on the whole value is not supported by this server; use Set", ErrInvalidPath, path, method)
	}
	for _, seg := range segs {
		if seg == "" || strings.ContainsAny(seg, "./~") {
			return "", fmt.Errorf("%w %q: this server takes dotted paths, and segment %q cannot be written as one", ErrInvalidPath, path, seg)
		}
	}
	return strings.Join(segs, "."), nil
}

// hasPresence reports whether the server family supports state.presence:
// the Go SODP server does not.
func hasPresence(d Dialect) bool { return d != DialectGo }
